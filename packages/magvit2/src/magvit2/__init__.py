"""MAGVIT-v2 (Yu et al., "Language Model Beats Diffusion: Tokenizer is Key to Visual
Generation", arXiv 2310.05737) at laptop scale.

Sub-packages follow the paper's concepts:

* ``quantizer``  lookup-free quantization (LFQ, Sec. 3.1) and a VQ baseline,
* ``tokenizer``  the causal 3-D CNN encoder/decoder (Sec. 3.2, appendix figure),
* ``training``   losses, the 3-D StyleGAN discriminator with LeCAM and R1, EMA,
* ``data``       moving digits, photo pans, local folders,
* ``compression`` tokens entropy-coded into a bitstream, PSNR and MS-SSIM,
* ``transformer`` a small MaskGIT-style masked transformer over tokens.
"""

__version__ = "0.1.0"
