"""The plain statements an export's reads run on a batch of images (``export_reads.py``): the
ids of the batch's images are written ``IN ({among})`` (``Plain.rows``)."""

from __future__ import annotations

#: Whether a classification ``k`` says it is the terminal one (``"terminal": true`` in its data),
#: in each database's JSON.
TERMINAL = {
    False: "COALESCE(json_type(k.data, '$.terminal') = 'true', 0)",
    True: "COALESCE((k.data -> 'terminal')::text = 'true', false)",
}
#: Occurrences with their best detection and its photo (``export_reads._shown`` reads a row), named
#: as tracking names a box (``repositories/ecology/tracking.py``): by the classification that names
#: it (the most confident terminal one, else the most confident; ties: the first stored) when that
#: is terminal or the box has no label of its own, else by the box's own label and score.
SHOWN = (
    "SELECT o.id, o.event_id, o.pipeline, o.label, o.score, o.determined_by, o.taxon_id, "
    "o.identified_by, o.disputed, o.deployment_id, o.first_seen_at, o.first_offset_minutes, "
    "o.last_seen_at, o.last_offset_minutes, o.detection_count, o.best_annotation_id, "
    "a.image_id, a.x1, a.y1, a.x2, a.y2, "
    "CASE WHEN named.id IS NULL THEN a.label ELSE named.label END, "
    "CASE WHEN named.id IS NULL THEN a.confidence ELSE named.confidence END, "
    "CASE WHEN named.id IS NULL THEN a.algorithm_id ELSE named.algorithm_id END, "
    "COALESCE(o.published_id, o.id) "
    "FROM annotations a JOIN occurrence_detections od ON od.annotation_id = a.id "
    "JOIN occurrences o ON o.id = od.occurrence_id AND o.best_annotation_id = a.id "
    "LEFT JOIN annotations named ON named.id = (SELECT k.id FROM annotations k "
    "WHERE k.parent_id = a.id AND k.type = 'classification' AND (a.label IS NULL OR {terminal}) "
    "ORDER BY {terminal} DESC, COALESCE(k.confidence, 0) DESC, k.id LIMIT 1) "
    "WHERE a.image_id >= ? AND a.image_id <= ? AND a.image_id IN ({{among}}) "
    "AND a.type = 'bounding_box' ORDER BY o.id"  # tracking links boxes only: the rest is skipped
)
#: An export's annotations of a batch's images (``annotations_of``).
ANNOTATIONS = (
    "SELECT id, analysis_id, image_id, type, label, confidence, x1, y1, x2, y2, "
    "CAST(data AS TEXT), parent_id, algorithm_id, ordering FROM annotations "
    "WHERE image_id >= ? AND image_id <= ? AND image_id IN ({among}) ORDER BY image_id, id"
)
#: The annotations without a parent of a batch's images, with their occurrences (``tops_of``).
TOPS = (
    "SELECT a.id, a.analysis_id, a.image_id, a.type, a.x1, a.y1, a.x2, a.y2, od.occurrence_id "
    "FROM annotations a LEFT JOIN occurrence_detections od ON od.annotation_id = a.id "
    "WHERE a.image_id >= ? AND a.image_id <= ? AND a.image_id IN ({among}) "
    "AND a.parent_id IS NULL ORDER BY a.image_id, a.id"
)
