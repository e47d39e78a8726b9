"""Target transformers: the PSPI pain score binned into the seven pain levels."""

from ._pspi import PSPILevelTransformer, pspi_to_level

__all__ = ["PSPILevelTransformer", "pspi_to_level"]
