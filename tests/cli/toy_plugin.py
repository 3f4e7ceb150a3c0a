"""``--plugin toy_plugin``: registers the toy metrics in a semfid-score subprocess."""

import toy_metrics

toy_metrics.register()
