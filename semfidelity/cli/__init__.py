"""semfidelity.cli"""
