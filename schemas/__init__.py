"""Pandera schemas for harmonized forms and SDTM domains (installed as ``dli_etl.schemas``)."""
