"""Testing kit: a plain reference implementation (``reference``) and hypothesis strategies
(``strategies``, needs the optional ``hypothesis`` dependency: ``pip install trendcalc[testing]``)."""
