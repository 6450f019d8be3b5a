# camtrapR's own numbers for the scene of tests/support/camtrap_scene.py: the record table
# (assessTemporalIndependence after removeDuplicatesOfRecords, what recordTable runs on each
# station's photos), the camera operation (cameraOperation) and detection histories
# (detectionHistory). The tests assert that trapline's tables hold these numbers; they do not
# run R. To run this again (R with lubridate and data.table; camtrapR's source, e.g. a clone of
# github.com/jniedballa/camtrapR, version 3.0.3 made these):
#
#   CAMTRAPR=/path/to/camtrapR Rscript tests/support/camtrap_scene.R
#
# trapline's empty_days=off (a day without photos is off) is camtrapR's problem period: A has
# no photo on 3 March, so Problem1_from = Problem1_to = 2024-03-03 for A.
suppressMessages({library(lubridate); library(data.table)})
for (f in c("variousOtherHelperFunctions", "cameraOperation", "detectionHistory")) {
  source(file.path(Sys.getenv("CAMTRAPR"), "R", paste0(f, ".R")))
}
tz <- "Africa/Dar_es_Salaam"
# A record per box: two grey herons in a1's photo, two great egrets in b1's.
rec <- data.frame(
  Station = c("A", "A", "A", "A", "A", "A", "A", "B", "B", "B", "B"),
  Species = c(rep("Ardea cinerea", 4), "Ardea alba", "Ardea cinerea", "Ardea alba",
              rep("Ardea alba", 3), "Ardea cinerea"),
  DateTimeOriginal = as.POSIXct(c(
    "2024-03-01 20:00:00", "2024-03-01 20:00:00", "2024-03-01 20:20:00", "2024-03-01 20:40:00",
    "2024-03-01 20:50:00", "2024-03-02 06:00:00", "2024-03-04 09:00:00", "2024-03-02 21:00:00",
    "2024-03-02 21:00:00", "2024-03-02 21:10:00", "2024-03-03 22:00:00"), tz = tz),
  FileName = c("a1", "a1b", "a2", "a3", "a4", "a5", "a6", "b1", "b1b", "b2", "b3"))
rec <- rec[order(rec$Station, rec$Species, rec$DateTimeOriginal), ]

record_table <- function(remove, minDelta, comparedTo) {
  by_station <- lapply(unique(rec$Station), function(st) {
    kept <- removeDuplicatesOfRecords(rec[rec$Station == st, ], removeDuplicateRecords = remove,
      camerasIndependent = FALSE, stationCol = "Station", speciesCol = "Species",
      cameraCol = "Camera", current = 1, total = 1, max_nchar_station = 1, quiet = TRUE)
    assessTemporalIndependence(kept, deltaTimeComparedTo = comparedTo,
      columnOfInterest = "Species", cameraCol = "Camera", camerasIndependent = FALSE,
      stationCol = "Station", minDeltaTime = minDelta)
  })
  found <- do.call(rbind, by_station)
  found$DateTimeOriginal <- format(found$DateTimeOriginal, "%Y-%m-%d %H:%M:%S")
  found[, c("Station", "Species", "DateTimeOriginal", "FileName", "delta.time.secs",
            "delta.time.mins", "delta.time.hours", "delta.time.days")]
}
default <- record_table(TRUE, 0, "lastRecord")
print(default)
# A a4 0; A a6 216600 3610 60.2 2.5; A a1 0; A a2 1200 20 0.3 0; A a3 1200 20 0.3 0;
# A a5 33600 560 9.3 0.4; B b1 0; B b2 600 10 0.2 0; B b3 0  (9 records: a1b and b1b removed)
print(record_table(FALSE, 0, "lastRecord"))
# 11 records: a1b and b1b too, with delta 0 (as a1 and b1)
thirty <- record_table(TRUE, 30, "lastRecord")
print(thirty)
# A a4 0; A a6 216600 3610 60.2 2.5; A a1 0; A a5 33600 560 9.3 0.4; B b1 0; B b3 0
print(record_table(TRUE, 30, "lastIndependentRecord"))
# ... A a1 0; A a3 2400 40 0.7 0; A a5 33600 560 9.3 0.4; ... (7 records)

stations <- data.frame(Station = c("A", "B"), Setup_date = c("2024-03-01", "2024-03-02"),
  Retrieval_date = c("2024-03-04", "2024-03-03"), Problem1_from = c("2024-03-03", NA),
  Problem1_to = c("2024-03-03", NA))
operating <- cameraOperation(stations, stationCol = "Station", setupCol = "Setup_date",
  retrievalCol = "Retrieval_date", hasProblems = FALSE, dateFormat = "ymd")
print(operating)
# A 0.5 1.0 1.0 0.5; B NA 0.5 0.5 NA
off <- cameraOperation(stations, stationCol = "Station", setupCol = "Setup_date",
  retrievalCol = "Retrieval_date", hasProblems = TRUE, dateFormat = "ymd")
print(off)
# A 0.5 1.0 0.0 0.5; B NA 0.5 0.5 NA

history <- function(records, species, camop, ...) {
  detectionHistory(records, species = species, camOp = camop, timeZone = tz,
                   recordDateTimeFormat = "ymd HMS", includeEffort = TRUE, ...)
}
print(history(default, "Ardea alba", off, occasionLength = 2, day1 = "station",
              output = "count"))
# detections A 1 1, B 2 NA; effort A 1.5 0.5, B 1.0 NA
print(history(thirty, "Ardea alba", off, occasionLength = 2, day1 = "station",
              output = "binary"))
# detections A 1 1, B 1 NA; effort A 1.5 0.5, B 1.0 NA
print(history(thirty, "Ardea cinerea", off, occasionLength = 2, day1 = "survey",
              output = "count"))
# detections A 2 0, B 0 1; effort A 1.5 0.5, B 0.5 0.5
print(history(default, "Ardea cinerea", off, occasionLength = 2, day1 = "survey",
              output = "binary", minActiveDaysPerOccasion = 1))
# detections A 1 NA, B NA NA  (effort 1.5 and 0.5 for A, 0.5 and 0.5 for B)
print(history(default, "Ardea cinerea", off, occasionLength = 1, day1 = "station",
              output = "count"))
# detections A 3 1 NA 0, B 0 1 NA NA; effort A 0.5 1 0 0.5, B 0.5 0.5 NA NA
print(history(default, "Ardea alba", operating, occasionLength = 3, day1 = "survey",
              output = "count"))
# detections A 1 1, B 2 NA; effort A 2.5 0.5, B 1.0 NA
