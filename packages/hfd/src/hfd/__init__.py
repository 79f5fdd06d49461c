"""HFD: high-fidelity image compression with score-based generative models
(Hoogeboom, Agustsson, Mentzer, Versari, Toderici, Theis, arXiv 2305.18231).

Stage 1 (:mod:`hfd.autoencoder`, :mod:`hfd.entropy`): an MSE autoencoder with a
mean-scale hyperprior and a real range coder, writing ``.hfd`` files
(:mod:`hfd.fileformat`, :mod:`hfd.codec`). Stage 2 (:mod:`hfd.diffusion`): a U-Net
conditioned on the stage-1 reconstruction, sampled with diffusion (shifted cosine
schedule) or rectified flow, patch by patch in parallel groups.
"""

__version__ = "0.1.0"
