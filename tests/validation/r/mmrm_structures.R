# Reference figures for hepatrial.stats.mmrm on data with heavy monotone dropout, for every
# covariance structure: unstructured, compound symmetry, AR(1), heterogeneous AR(1).
#
# Run from the repository root:  Rscript tests/validation/r/mmrm_structures.R
# Needs R >= 4.2 with the recommended package nlme.
# Reads tests/validation/fixtures/mmrm_msc_aclf_dropout.csv (the synthetic MSC-ACLF
# reconstruction's change in bilirubin and in MELD at weeks 1, 2, 3, 4, 8, 12 and 24, with
# dropout by death; the data set on which the first MMRM engine failed to converge) and writes
# tests/validation/fixtures/mmrm_structures.csv: case, quantity, value, every figure with 17
# significant digits. The tests read that file and never run R.
suppressPackageStartupMessages(library(nlme))
out_dir <- "tests/validation/fixtures"
fmt <- function(x) sprintf("%.17g", x)
figures <- list()
put <- function(case, quantity, value) {
  figures[[length(figures) + 1L]] <<- data.frame(case = case, quantity = quantity,
                                                 value = fmt(as.numeric(value)))
}

d <- read.csv(file.path(out_dir, "mmrm_msc_aclf_dropout.csv"), stringsAsFactors = FALSE)
d <- d[order(d$subject, d$week), ]
d$arm <- factor(d$arm)  # levels: msc (reference), standard-medical-therapy
d$visit <- factor(d$visit, levels = paste0("w", sort(unique(d$week))))
d$vi <- as.integer(d$visit)
complete <- names(which(table(d$subject) == nlevels(d$visit)))[1]

# As in linear_reference.R: optim with a tight relative tolerance, so that the REML maximum is
# reached to ~1e-11 in the log-likelihood.
tight <- glsControl(tolerance = 1e-12, msTol = 1e-15, msMaxIter = 1000, maxIter = 1000,
                    opt = "optim")
structures <- list(
  "unstructured" = list(correlation = quote(corSymm(form = ~ vi | subject)),
                        weights = quote(varIdent(form = ~ 1 | visit))),
  "compound-symmetry" = list(correlation = quote(corCompSymm(form = ~ vi | subject)),
                             weights = NULL),
  "ar1" = list(correlation = quote(corAR1(form = ~ vi | subject)), weights = NULL),
  "heterogeneous-ar1" = list(correlation = quote(corAR1(form = ~ vi | subject)),
                             weights = quote(varIdent(form = ~ 1 | visit)))
)
outcomes <- list(bilirubin = c("bilirubin_change_umol_l", "bilirubin_baseline_umol_l"),
                 meld = c("meld_change", "meld_baseline"))
for (o in names(outcomes)) {
  d$y <- d[[outcomes[[o]][1]]]
  d$base <- d[[outcomes[[o]][2]]]
  for (s in names(structures)) {
    spec <- structures[[s]]
    g <- eval(bquote(gls(y ~ arm * visit + base, data = d, correlation = .(spec$correlation),
                         weights = .(spec$weights), method = "REML", control = tight)))
    case <- paste(o, s, sep = ":")
    put(case, "loglik", logLik(g))
    cf <- coef(g)
    Vb <- vcov(g)
    for (k in seq_along(cf)) {
      put(case, paste0("estimate:", names(cf)[k]), cf[k])
      put(case, paste0("se:", names(cf)[k]), sqrt(Vb[k, k]))
    }
    Sig <- getVarCov(g, individual = complete)
    for (i in seq_len(nrow(Sig))) for (j in seq_len(ncol(Sig))) {
      put(case, sprintf("sigma:%d,%d", i, j), Sig[i, j])
    }
  }
}

fig <- do.call(rbind, figures)
write.csv(fig, file.path(out_dir, "mmrm_structures.csv"), row.names = FALSE, quote = TRUE)
cat(sprintf("wrote %d figures\n", nrow(fig)))
