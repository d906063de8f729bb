"""edsmaps: predict EDS composition maps from 4D-STEM diffraction patterns.

The logic behind every workflow step; the scripts in ``workflow/scripts`` only unpack
Snakemake's inputs and call into these modules.
"""
