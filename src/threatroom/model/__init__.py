"""The domain model: what an architecture is, and what an analysis returns."""

from .system import Attributes, Component, DataAsset, Evidence, Flow, System, SystemModel, TrustBoundary
from .threats import ComponentOut, DreadScore, Finding, MitigationOut, Summary, Threat, ThreatModel
from .vocabulary import AuthMethod, ComponentType, DataClass, Feature, Severity, Stride, ZoneKind

__all__ = [
    "Attributes", "AuthMethod", "Component", "ComponentOut", "ComponentType", "DataAsset", "DataClass",
    "DreadScore", "Evidence", "Feature", "Finding", "Flow", "MitigationOut", "Severity", "Stride", "Summary",
    "System", "SystemModel", "Threat", "ThreatModel", "TrustBoundary", "ZoneKind",
]
