"""Review (SQL): what people say of occurrences and detections: identifications and reviews."""
