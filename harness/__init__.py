"""vsphere-harness: contract and chaos testing for the vSphere VI/JSON API."""

__version__ = "0.1.0"
