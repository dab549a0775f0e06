# R prophet as a peer detector: for each series CSV (ds,y; y NA = not reported) in IN_DIR, fit prophet with
# its defaults and a 0.99 uncertainty interval, and write OUT_DIR/<same name> with ds,yhat,lower,upper over
# every day of the series. A day is flagged when its y lies outside [lower, upper] (prophet_eval.py).
#   Rscript prophet_band.R IN_DIR OUT_DIR     (existing outputs are kept: the run resumes)
suppressMessages(library(prophet))
Sys.setenv(LC_ALL = "C")
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript prophet_band.R IN_DIR OUT_DIR")
files <- sort(list.files(args[1], pattern = "\\.csv$", full.names = TRUE))
dir.create(args[2], showWarnings = FALSE, recursive = TRUE)
set.seed(16)
for (f in files) {
  out <- file.path(args[2], basename(f))
  if (file.exists(out)) next
  df <- read.csv(f)
  df$ds <- as.Date(df$ds)
  obs <- df[!is.na(df$y), ]
  if (nrow(obs) < 14) next  # prophet needs some history; such a series gets no flags
  m <- suppressMessages(prophet(obs, interval.width = 0.99))
  fc <- predict(m, data.frame(ds = df$ds))
  tmp <- paste0(out, ".tmp")
  write.csv(data.frame(ds = format(df$ds), yhat = fc$yhat, lower = fc$yhat_lower, upper = fc$yhat_upper),
            tmp, row.names = FALSE)
  file.rename(tmp, out)
}
