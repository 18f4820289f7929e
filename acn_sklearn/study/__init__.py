"""The paper's study, apart from the library: its protocol, learning curves, analysis,
reports, figures, the published peers and Table 1.

What ``acn-sklearn learning-curve`` runs. The models themselves are the library's
(:mod:`acn_sklearn`); nothing in the library imports from here.
"""
