"""The paper's statistics, as quoted in ``shared/spec/complife-paper.md``.

All for BFF (``bff_noheads``) at 2^17 programs of 64 bytes, 8192 steps, mutation
0.024 % (1/4096) and 16k epochs unless said otherwise. The numbers are second-hand
(two notes that quote arXiv 2406.19108) and read off figures, so they carry no
error bars of their own.
"""

#: The setting all of them were measured at.
SETTING = "BFF, 2^17 programs, 16k epochs"
#: Fig. 5: fraction of runs with high-order entropy >= 1 within 16k epochs.
FIG5_EPOCHS = 16384
FIG5_FRACTION = 0.40
#: Fig. 6: fraction *not* reaching >= 1 in 16k epochs, by mutation probability
#: (the paper's 0.012 %, 0.024 % and 0.048 % are 1/8192, 1/4096 and 1/2048).
FIG6_NOT_REACHING = {
    0.0: 0.56,
    1 / 8192: 0.65,
    1 / 4096: 0.60,
    1 / 2048: 0.50,
    0.001: 0.42,
    0.005: 0.62,
    0.01: 0.94,
}
#: Fig. 7: fraction transitioned (or, for "seeded", taken over), 1000 runs each.
FIG7 = {
    "short": (3 / 1000, "random init, 128 epochs"),
    "seeded": (0.22, "one replicator, 128 epochs"),
    "long": (0.40, "random init, 16k epochs"),
    "long-no-noise": (0.50, "no mutation, fixed pairing, 16k epochs"),
}
FIG7_RUNS = 1000
