"""Maps between embedding spaces: Procrustes and least-squares alignment with MUSE-style
refinement, word translation (nearest neighbour, CSLS, inverted softmax) and the stability of
training runs. CSLS is written once, in :mod:`tokenspace.alignment.csls`."""
