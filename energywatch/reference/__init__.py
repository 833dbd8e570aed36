"""Domain reference data: what points measure, standard-coal coefficients, CO2 factor sets and
intensity levels, each row with its source and edition (see data/*.yaml)."""

from energywatch.reference.load import (
    CoalCoefficient,
    EmissionFactor,
    IntensityLevel,
    Measure,
    ReferenceData,
    load_reference,
)

__all__ = [
    "CoalCoefficient",
    "EmissionFactor",
    "IntensityLevel",
    "Measure",
    "ReferenceData",
    "load_reference",
]
