# Reference figures for hepatrial.design, computed with R rpact.
#
# Run from the repository root:  Rscript tests/validation/r/design_reference.R
# Writes tests/validation/fixtures/design_rpact.json (17 significant digits); the Python tests
# read that file and never run R. Every record carries the exact rpact call that produced it.
#
# Conventions mapped to hepatrial:
#   rpact allocationRatioPlanned = n1/n2 with group 1 the treatment = hepatrial `ratio`.
#   rpact sided=1, alpha=a  <->  hepatrial sided=1, alpha=a (one-sided level a).
#   rpact sided=2 (sample-size functions, twoSidedPower=FALSE) <-> hepatrial sided=2.
#   rpact getDesignCharacteristics()$shift is the squared drift theta^2.
#   rpact's Freedman events: (z_a + z_b)^2 (1 + r HR)^2 / (r (1 - HR)^2).

suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})

records <- list()
add <- function(kind, call, args, values) {
  records[[length(records) + 1]] <<- list(kind = kind, call = call, args = args, values = values)
}

# ---- group-sequential designs: alpha spending, optional beta spending ------------------------
gs_cases <- list()
for (type in c("asOF", "asP")) {
  for (k in 2:5) {
    gs_cases[[length(gs_cases) + 1]] <- list(k = k, alpha = 0.025, type = type, rates = NULL,
                                             beta = 0.2, bs = "none", binding = FALSE)
  }
  gs_cases[[length(gs_cases) + 1]] <- list(k = 3, alpha = 0.05, type = type, rates = NULL,
                                           beta = 0.1, bs = "none", binding = FALSE)
  gs_cases[[length(gs_cases) + 1]] <- list(k = 4, alpha = 0.005, type = type, rates = NULL,
                                           beta = 0.2, bs = "none", binding = FALSE)
  gs_cases[[length(gs_cases) + 1]] <- list(k = 3, alpha = 0.025, type = type,
                                           rates = c(0.3, 0.7, 1), beta = 0.2, bs = "none",
                                           binding = FALSE)
  gs_cases[[length(gs_cases) + 1]] <- list(k = 4, alpha = 0.025, type = type,
                                           rates = c(0.2, 0.45, 0.8, 1), beta = 0.2,
                                           bs = "none", binding = FALSE)
}
for (bs in c("bsOF", "bsP")) {
  for (binding in c(FALSE, TRUE)) {
    gs_cases[[length(gs_cases) + 1]] <- list(k = 3, alpha = 0.025, type = "asOF", rates = NULL,
                                             beta = 0.2, bs = bs, binding = binding)
    gs_cases[[length(gs_cases) + 1]] <- list(k = 4, alpha = 0.025, type = "asP",
                                             rates = c(0.25, 0.5, 0.8, 1), beta = 0.1, bs = bs,
                                             binding = binding)
  }
  gs_cases[[length(gs_cases) + 1]] <- list(k = 2, alpha = 0.025, type = "asOF", rates = NULL,
                                           beta = 0.2, bs = bs, binding = FALSE)
  gs_cases[[length(gs_cases) + 1]] <- list(k = 5, alpha = 0.05, type = "asOF", rates = NULL,
                                           beta = 0.2, bs = bs, binding = FALSE)
}

for (case in gs_cases) {
  rates <- if (is.null(case$rates)) (1:case$k) / case$k else case$rates
  rates_text <- paste0("c(", paste(format(rates, digits = 17), collapse = ", "), ")")
  if (case$bs == "none") {
    design <- getDesignGroupSequential(kMax = case$k, alpha = case$alpha, beta = case$beta,
                                       sided = 1, typeOfDesign = case$type,
                                       informationRates = rates)
    call <- sprintf(paste0("getDesignGroupSequential(kMax=%d, alpha=%s, beta=%s, sided=1, ",
                           "typeOfDesign=\"%s\", informationRates=%s)"),
                    case$k, case$alpha, case$beta, case$type, rates_text)
  } else {
    design <- getDesignGroupSequential(kMax = case$k, alpha = case$alpha, beta = case$beta,
                                       sided = 1, typeOfDesign = case$type,
                                       informationRates = rates, typeBetaSpending = case$bs,
                                       bindingFutility = case$binding)
    call <- sprintf(paste0("getDesignGroupSequential(kMax=%d, alpha=%s, beta=%s, sided=1, ",
                           "typeOfDesign=\"%s\", informationRates=%s, typeBetaSpending=\"%s\", ",
                           "bindingFutility=%s)"),
                    case$k, case$alpha, case$beta, case$type, rates_text, case$bs, case$binding)
  }
  chars <- getDesignCharacteristics(design)
  futility <- if (case$bs == "none") NULL else as.numeric(design$futilityBounds)
  add("gs", paste0(call, " + getDesignCharacteristics()"),
      list(k = case$k, alpha = case$alpha, beta = case$beta,
           spending = ifelse(case$type == "asOF", "obf", "pocock"),
           futility = switch(case$bs, none = "none", bsOF = "obf", bsP = "pocock"),
           binding = case$binding, information = rates),
      list(z = as.numeric(design$criticalValues), futility = futility,
           alpha_spent = as.numeric(design$alphaSpent),
           shift = chars$shift, inflation_factor = chars$inflationFactor,
           power = as.numeric(chars$power)[case$k],
           asn1 = chars$averageSampleNumber1, asn0 = chars$averageSampleNumber0))
}

# ---- sample size for a difference in means -------------------------------------------------
means_cases <- list(
  list(delta = 1, sd = 1, alpha = 0.05, sided = 2, beta = 0.2, ratio = 1),
  list(delta = 0.87, sd = 1.64, alpha = 0.05, sided = 2, beta = 0.1, ratio = 1),
  list(delta = 0.5, sd = 1.2, alpha = 0.025, sided = 1, beta = 0.2, ratio = 2),
  list(delta = 2.5, sd = 4, alpha = 0.01, sided = 2, beta = 0.15, ratio = 0.5),
  list(delta = 3, sd = 2, alpha = 0.05, sided = 2, beta = 0.2, ratio = 1)
)
for (case in means_cases) {
  for (normal in c(TRUE, FALSE)) {
    x <- getSampleSizeMeans(alternative = case$delta, stDev = case$sd, alpha = case$alpha,
                            sided = case$sided, beta = case$beta,
                            allocationRatioPlanned = case$ratio, normalApproximation = normal)
    call <- sprintf(paste0("getSampleSizeMeans(alternative=%s, stDev=%s, alpha=%s, sided=%d, ",
                           "beta=%s, allocationRatioPlanned=%s, normalApproximation=%s)$nFixed"),
                    case$delta, case$sd, case$alpha, case$sided, case$beta, case$ratio, normal)
    add("means", call,
        list(delta = case$delta, sd = case$sd, alpha = case$alpha, sided = case$sided,
             power = 1 - case$beta, ratio = case$ratio, method = ifelse(normal, "normal", "t")),
        list(n_total = x$nFixed, n1 = x$nFixed1, n2 = x$nFixed2))
  }
}

# ---- sample size for two proportions ------------------------------------------------------
rates_cases <- list(
  list(pi1 = 0.161, pi2 = 0.333, alpha = 0.05, sided = 2, beta = 0.2, ratio = 1),
  list(pi1 = 0.268, pi2 = 0.444, alpha = 0.05, sided = 2, beta = 0.1, ratio = 1),
  list(pi1 = 0.6, pi2 = 0.4, alpha = 0.025, sided = 1, beta = 0.2, ratio = 2),
  list(pi1 = 0.05, pi2 = 0.15, alpha = 0.01, sided = 2, beta = 0.2, ratio = 0.5)
)
for (case in rates_cases) {
  x <- getSampleSizeRates(pi1 = case$pi1, pi2 = case$pi2, alpha = case$alpha, sided = case$sided,
                          beta = case$beta, allocationRatioPlanned = case$ratio,
                          normalApproximation = TRUE)
  call <- sprintf(paste0("getSampleSizeRates(pi1=%s, pi2=%s, alpha=%s, sided=%d, beta=%s, ",
                         "allocationRatioPlanned=%s, normalApproximation=TRUE)$nFixed"),
                  case$pi1, case$pi2, case$alpha, case$sided, case$beta, case$ratio)
  add("rates", call,
      list(p_treatment = case$pi1, p_control = case$pi2, alpha = case$alpha, sided = case$sided,
           power = 1 - case$beta, ratio = case$ratio),
      list(n_total = x$nFixed, n1 = x$nFixed1, n2 = x$nFixed2))
}

# ---- survival: events (Schoenfeld, Freedman) and subjects with accrual/follow-up ------------
surv_cases <- list(
  list(hr = 0.53, alpha = 0.05, sided = 2, beta = 0.2, ratio = 1, median2 = 6, accrual = 24,
       follow = 6, dropout = 0),
  list(hr = 0.7, alpha = 0.025, sided = 1, beta = 0.1, ratio = 1, median2 = 24, accrual = 18,
       follow = 12, dropout = 0.05),
  list(hr = 0.6, alpha = 0.05, sided = 2, beta = 0.2, ratio = 2, median2 = 12, accrual = 12,
       follow = 12, dropout = 0.1),
  list(hr = 1.4, alpha = 0.01, sided = 2, beta = 0.2, ratio = 0.5, median2 = 36, accrual = 30,
       follow = 24, dropout = 0)
)
for (case in surv_cases) {
  for (type in c("Schoenfeld", "Freedman")) {
    x <- getSampleSizeSurvival(hazardRatio = case$hr, lambda2 = log(2) / case$median2,
                               accrualTime = c(0, case$accrual), followUpTime = case$follow,
                               dropoutRate1 = case$dropout, dropoutRate2 = case$dropout,
                               dropoutTime = 12, alpha = case$alpha, sided = case$sided,
                               beta = case$beta, allocationRatioPlanned = case$ratio,
                               typeOfComputation = type)
    call <- sprintf(paste0("getSampleSizeSurvival(hazardRatio=%s, lambda2=log(2)/%s, ",
                           "accrualTime=c(0, %s), followUpTime=%s, dropoutRate1=%s, ",
                           "dropoutRate2=%s, dropoutTime=12, alpha=%s, sided=%d, beta=%s, ",
                           "allocationRatioPlanned=%s, typeOfComputation=\"%s\")",
                           " -> $eventsFixed, $nFixed"),
                    case$hr, case$median2, case$accrual, case$follow, case$dropout,
                    case$dropout, case$alpha, case$sided, case$beta, case$ratio, type)
    add("survival", call,
        list(hr = case$hr, alpha = case$alpha, sided = case$sided, power = 1 - case$beta,
             ratio = case$ratio, median_control = case$median2, accrual_time = case$accrual,
             follow_up = case$follow, dropout_rate = case$dropout,
             method = tolower(type)),
        list(events = x$eventsFixed, n_total = x$nFixed))
  }
}

# jsonlite prints at most 15 significant digits; write every number verbatim with 17.
as_json17 <- function(x) {
  if (is.list(x)) return(lapply(x, as_json17))
  if (is.numeric(x) && length(x) > 0) {
    text <- ifelse(is.na(x), "null", sprintf("%.17g", x))
    body <- if (length(x) == 1) text else paste0("[", paste(text, collapse = ", "), "]")
    return(structure(body, class = "json"))
  }
  x
}
records <- lapply(records, function(r) {
  r$args <- as_json17(r$args)
  r$values <- as_json17(r$values)
  r
})

out <- list(generator = paste("rpact", as.character(packageVersion("rpact")), "on",
                              R.version.string),
            script = "tests/validation/r/design_reference.R",
            records = records)
write_json(out, "tests/validation/fixtures/design_rpact.json", digits = I(17), auto_unbox = TRUE,
           pretty = TRUE, null = "null", json_verbatim = TRUE)
cat("wrote", length(records), "records\n")
