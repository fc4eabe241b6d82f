"""Contracts: the model, the loader, the generator, the checker and the OpenAPI export."""

from .model import ConditionalPrivilege, Contract, Param
from .store import ContractError, ContractSet, default_contracts_dir, load_contracts

__all__ = [
    "ConditionalPrivilege",
    "Contract",
    "ContractError",
    "ContractSet",
    "Param",
    "default_contracts_dir",
    "load_contracts",
]
