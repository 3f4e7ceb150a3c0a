"""semfidelity.training"""
