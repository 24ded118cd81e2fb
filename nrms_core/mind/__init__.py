"""Research on the MIND data set, apart from the product: reading MIND-format folders
(:mod:`~nrms_core.mind.reader`), the evaluation protocols and their command line
(:mod:`~nrms_core.mind.protocol`, :mod:`~nrms_core.mind.evaluate`) and data-parallel
pretraining (:mod:`~nrms_core.mind.pretrain`).

The application never imports this package (an import contract in ``pyproject.toml`` says
so): it measures the model and can pretrain a base for it, and nothing a reader runs
depends on it.
"""
