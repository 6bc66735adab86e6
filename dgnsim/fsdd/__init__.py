"""The FSDD task: data and encoding, perturbations, attacks, augmentation, training, evaluation, robustness.

Needs the ``torch`` extra for training and evaluation.
"""
