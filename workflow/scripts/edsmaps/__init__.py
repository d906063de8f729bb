"""edsmaps: predict EDS composition maps from 4D-STEM diffraction patterns.

The logic behind every workflow step; the scripts in ``workflow/scripts`` only unpack
Snakemake's inputs and call into these modules.

Layers, lowest first. A module imports from its own layer or lower ones only, never a private
name of another module, and no two modules import each other (``tests/test_layers.py`` reads
this list):

1. foundation: atomic, chunks, logs, layout, plan, demo_files, config_checks, provenance, backend, resume
2. io: rawio, datacube_file, pattern_file, cacheset, strategies, prediction_file, input_checks, demo
3. preprocessing: centering, scan_order, conversion, blur, caching, dose, scaling, augmentation, data
4. model: model, composition, training, inference, calibration, prediction, pattern_features, regressors, boosting, model_kinds, baselines, ensemble
5. evaluation: metrics, intervals, evaluation, tables, selection, ood, export, dose_series, dose_curve, oracle
6. figures: figures, rulegraph
7. tools: benchmark

``layout``, ``plan``, ``config_checks`` and ``demo_files`` are read while Snakemake parses the
workflow and import the standard library only.
"""
