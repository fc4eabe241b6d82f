"""The simulated endpoint: a VI/JSON server with real state (docs/simulator.md)."""

from .app import create_app
from .config import MISBEHAVIOURS, ConfigError, SimConfig
from .server import RunningSimulator, running_simulator
from .simulator import Simulator

__all__ = [
    "MISBEHAVIOURS",
    "ConfigError",
    "RunningSimulator",
    "SimConfig",
    "Simulator",
    "create_app",
    "running_simulator",
]
