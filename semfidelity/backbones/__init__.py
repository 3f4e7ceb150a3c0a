"""semfidelity.backbones"""
