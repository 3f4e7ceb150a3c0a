"""semfidelity.selection"""
