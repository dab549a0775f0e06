# Times R prophet per series on one core: fit only (prophet() with uncertainty.samples = 0), and fit plus
# the in-sample forecast with its uncertainty intervals (prophet()'s defaults: 1000 samples, predict()).
#   Rscript bench/prophet_timing.R DIR_OF_CSVS     (one CSV per series: ds,y; written by prophet_timing.sh)
# Yearly seasonality is forced on: prophet drops it below 730 days of span (a 730-step series spans 729),
# and the gam fits it. Prints one line per series and the medians; not part of the test suite.
suppressMessages(library(prophet))
Sys.setenv(LC_ALL = "C")
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript prophet_timing.R DIR_OF_CSVS")
files <- sort(list.files(args[1], pattern = "\\.csv$", full.names = TRUE))
if (length(files) == 0) stop(paste("no CSV files in", args[1]))
cpu <- function(t) unname(t["user.self"] + t["sys.self"])
fit_s <- c(); full_s <- c(); fit_wall <- c(); full_wall <- c()
for (f in files) {
  df <- read.csv(f)
  df$ds <- as.Date(df$ds)
  df <- df[!is.na(df$y), ]
  t1 <- system.time(m1 <- prophet(df, yearly.seasonality = TRUE, uncertainty.samples = 0))
  t2 <- system.time({
    m2 <- prophet(df, yearly.seasonality = TRUE)
    fc <- predict(m2, df)
  })
  if (any(is.na(fc$yhat_lower)) || any(fc$yhat_lower > fc$yhat_upper)) stop(paste("bad intervals for", f))
  fit_s <- c(fit_s, cpu(t1)); full_s <- c(full_s, cpu(t2))
  fit_wall <- c(fit_wall, unname(t1["elapsed"])); full_wall <- c(full_wall, unname(t2["elapsed"]))
  cat(sprintf("%s: fit %.3f s CPU (%.3f wall), fit+intervals %.3f s CPU (%.3f wall), %d points\n", basename(f), cpu(t1), t1["elapsed"],
              cpu(t2), t2["elapsed"], nrow(df)))
}
cat(sprintf("prophet %s, %d series: median fit %.4f s CPU (%.4f wall); median fit+intervals %.4f s CPU (%.4f wall)\n",
            as.character(packageVersion("prophet")), length(files), median(fit_s), median(fit_wall), median(full_s), median(full_wall)))
cat(sprintf("PROPHET_FIT_SECONDS=%.6f\nPROPHET_FULL_SECONDS=%.6f\n", median(fit_s), median(full_s)))
