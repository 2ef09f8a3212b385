"""NeMo-free exporter: a Conformer-CTC `.nemo` archive to a validated ONNX model."""
