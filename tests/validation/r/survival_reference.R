# Reference figures for hepatrial's survival estimators, computed with R's survival and cmprsk.
#
# Run from the repository root:  Rscript tests/validation/r/survival_reference.R
# Writes tests/validation/fixtures/survival_*.json: the data sets used (so the tests never need R)
# and every figure the validation tests compare. Numbers are written with 17 significant digits
# ("%.17g"), which round-trips IEEE doubles exactly; NA/NaN become null, +-Inf "Inf"/"-Inf".

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

out_dir <- file.path("tests", "validation", "fixtures")

# --- a small JSON writer with full precision (jsonlite rounds to 15 digits) -------------------
json_value <- function(x) {
  if (is.data.frame(x)) return(json_value(as.list(x)))
  if (is.list(x)) {
    inner <- vapply(x, json_value, character(1))
    if (is.null(names(x))) return(paste0("[", paste(inner, collapse = ","), "]"))
    return(paste0("{", paste0('"', names(x), '":', inner, collapse = ","), "}"))
  }
  if (is.factor(x)) x <- as.character(x)
  if (is.logical(x)) x <- as.numeric(x)
  if (is.character(x)) {
    s <- ifelse(is.na(x), "null", paste0('"', gsub('"', '\\\\"', x), '"'))
  } else {
    s <- ifelse(is.na(x), "null",
      ifelse(is.infinite(x), ifelse(x > 0, '"Inf"', '"-Inf"'), sprintf("%.17g", x)))
  }
  if (length(x) == 1 && !inherits(x, "AsIs")) return(s)
  paste0("[", paste(s, collapse = ","), "]")
}
write_json <- function(x, name) {
  writeLines(json_value(x), file.path(out_dir, name))
}
versions <- list(
  R = R.version.string,
  survival = as.character(packageVersion("survival")),
  cmprsk = as.character(packageVersion("cmprsk"))
)

# --- data sets ---------------------------------------------------------------------------------
# Mayo Clinic PBC trial: the 312 randomized patients (D-penicillamine vs placebo).
pbc_trial <- subset(pbc, !is.na(trt))
pbc_trial$death <- as.numeric(pbc_trial$status == 2)
pbc_trial$arm <- ifelse(pbc_trial$trt == 1, "D-penicillamine", "placebo")
pbc_trial$log_bili <- log(pbc_trial$bili)
pbc_trial$log_albumin <- log(pbc_trial$albumin)
pbc_trial$log_protime <- log(pbc_trial$protime)
pbc_trial$edema_level <- as.character(pbc_trial$edema)
pbc_cols <- c("id", "time", "status", "death", "trt", "arm", "age", "sex", "edema", "edema_level",
              "bili", "log_bili", "albumin", "log_albumin", "protime", "log_protime", "stage",
              "ascites", "hepato", "spiders")
lung_df <- lung
lung_df$dead <- as.numeric(lung_df$status == 2)
lung_df$sex_label <- ifelse(lung_df$sex == 1, "male", "female")
veteran_df <- veteran
veteran_df$celltype <- as.character(veteran_df$celltype)
aml_df <- aml
aml_df$x <- as.character(aml_df$x)
write_json(list(pbc = pbc_trial[, pbc_cols], lung = lung_df, veteran = veteran_df, aml = aml_df,
                versions = versions),
           "survival_data.json")

# --- Kaplan-Meier ------------------------------------------------------------------------------
km_case <- function(formula, data, conf.type, conf.int = 0.95, rmean = NULL, times = NULL) {
  fit <- survfit(formula, data = data, conf.type = conf.type, conf.int = conf.int)
  s <- summary(fit, censored = TRUE)
  tab <- if (is.null(rmean)) summary(fit)$table else summary(fit, rmean = rmean)$table
  res <- list(
    r_code = sprintf("survfit(%s, data = %s, conf.type = \"%s\", conf.int = %s)",
                     paste(deparse(formula), collapse = ""), deparse(substitute(data)), conf.type,
                     conf.int),
    conf_type = conf.type, conf_level = conf.int,
    table = list(time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
                 surv = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper),
    median = unname(tab["median"]), median_lcl = unname(tab[paste0(conf.int, "LCL")]),
    median_ucl = unname(tab[paste0(conf.int, "UCL")])
  )
  if (!is.null(rmean)) {
    res$rmean_tau <- rmean
    res$rmean <- unname(tab["rmean"])
    res$rmean_se <- unname(tab["se(rmean)"])
  }
  if (!is.null(times)) {
    st <- summary(fit, times = times)
    res$at <- list(time = st$time, n_risk = st$n.risk, surv = st$surv, std_err = st$std.err,
                   lower = st$lower, upper = st$upper)
  }
  res
}

km <- list()
for (ct in c("log", "plain", "log-log")) {
  km[[paste0("aml_", ct)]] <- c(list(data = "aml", subset = "all"),
    km_case(Surv(time, status) ~ 1, aml_df, ct, rmean = 40, times = c(0, 10, 30, 48, 100)))
  km[[paste0("lung_", ct)]] <- c(list(data = "lung", subset = "all"),
    km_case(Surv(time, dead) ~ 1, lung_df, ct, rmean = 365, times = c(90, 180, 365, 730)))
  for (a in c("D-penicillamine", "placebo")) {
    km[[paste0("pbc_", a, "_", ct)]] <- c(list(data = "pbc", subset = a),
      km_case(Surv(time, death) ~ 1, subset(pbc_trial, arm == a), ct, rmean = 3650,
              times = c(365, 1826, 3650)))
  }
  km[[paste0("veteran_", ct, "_90")]] <- c(list(data = "veteran", subset = "all"),
    km_case(Surv(time, status) ~ 1, veteran_df, ct, conf.int = 0.90, rmean = 200,
            times = c(30, 100, 400)))
}
write_json(km, "survival_km.json")

# --- log-rank (survdiff) -------------------------------------------------------------------------
lr_case <- function(formula, data) {
  fit <- survdiff(formula, data = data)
  obs <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  expd <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  list(r_code = sprintf("survdiff(%s, data = %s)", paste(deparse(formula), collapse = ""),
                        deparse(substitute(data))),
       groups = sub(".*=", "", names(fit$n)),
       n = as.numeric(fit$n), chisq = fit$chisq, df = length(fit$n) - 1,
       p = pchisq(fit$chisq, sum(expd > 0) - 1, lower.tail = FALSE),
       observed = I(as.numeric(obs)), expected = I(as.numeric(expd)),
       variance = I(as.numeric(fit$var)))
}
lr <- list(
  aml = c(list(data = "aml", time = "time", event = "status", group = "x", strata = NULL),
          lr_case(Surv(time, status) ~ x, aml_df)),
  pbc_arm = c(list(data = "pbc", time = "time", event = "death", group = "arm"),
              lr_case(Surv(time, death) ~ arm, pbc_trial)),
  pbc_edema = c(list(data = "pbc", time = "time", event = "death", group = "edema_level"),
                lr_case(Surv(time, death) ~ edema_level, pbc_trial)),
  veteran_celltype = c(list(data = "veteran", time = "time", event = "status", group = "celltype"),
                       lr_case(Surv(time, status) ~ celltype, veteran_df)),
  pbc_arm_by_edema = c(list(data = "pbc", time = "time", event = "death", group = "arm",
                            strata = "edema_level"),
                       lr_case(Surv(time, death) ~ arm + strata(edema_level), pbc_trial)),
  veteran_trt_by_celltype = c(list(data = "veteran", time = "time", event = "status",
                                   group = "trt", strata = "celltype"),
                              lr_case(Surv(time, status) ~ trt + strata(celltype), veteran_df)),
  lung_sex_by_ecog = c(list(data = "lung", time = "time", event = "dead", group = "sex_label",
                            strata = "ph.ecog"),
                       lr_case(Surv(time, dead) ~ sex_label + strata(ph.ecog), lung_df))
)
write_json(lr, "survival_logrank.json")

# --- Cox proportional hazards (coxph) --------------------------------------------------------------
cox_case <- function(formula, data, ties = "efron", robust = NULL) {
  fit <- if (is.null(robust)) coxph(formula, data = data, ties = ties)
         else coxph(formula, data = data, ties = ties, robust = robust)
  code <- sprintf("coxph(%s, data = %s, ties = \"%s\"%s)",
                  paste(deparse(formula), collapse = ""), deparse(substitute(data)), ties,
                  if (is.null(robust)) "" else paste0(", robust = ", robust))
  res <- list(r_code = code, ties = ties, terms = I(names(coef(fit))),
              coef = I(unname(coef(fit))), se = I(unname(sqrt(diag(fit$var)))),
              loglik = I(fit$loglik), concordance = unname(fit$concordance["concordance"]),
              concordant = unname(fit$concordance["concordant"]),
              discordant = unname(fit$concordance["discordant"]),
              tied_x = unname(fit$concordance["tied.x"]),
              n = fit$n, nevent = fit$nevent, iter = fit$iter)
  if (!is.null(fit$naive.var)) res$se_model <- I(unname(sqrt(diag(fit$naive.var))))
  res
}
cox <- list(
  lung_efron = c(list(data = "lung", time = "time", event = "dead",
                      covariates = I(c("age", "sex", "ph.ecog"))),
                 cox_case(Surv(time, dead) ~ age + sex + ph.ecog, lung_df)),
  lung_breslow = c(list(data = "lung", time = "time", event = "dead",
                        covariates = I(c("age", "sex", "ph.ecog"))),
                   cox_case(Surv(time, dead) ~ age + sex + ph.ecog, lung_df, ties = "breslow")),
  pbc_arm_adjusted = c(list(data = "pbc", time = "time", event = "death",
                            covariates = I(c("arm", "age", "log_bili", "log_albumin",
                                             "log_protime", "edema"))),
                       cox_case(Surv(time, death) ~ arm + age + log_bili + log_albumin +
                                  log_protime + edema, pbc_trial)),
  veteran_celltype = c(list(data = "veteran", time = "time", event = "status",
                            covariates = I(c("trt", "karno", "celltype"))),
                       cox_case(Surv(time, status) ~ trt + karno + celltype, veteran_df)),
  veteran_strata = c(list(data = "veteran", time = "time", event = "status",
                          covariates = I(c("trt", "karno")), strata = "celltype"),
                     cox_case(Surv(time, status) ~ trt + karno + strata(celltype), veteran_df)),
  lung_strata_breslow = c(list(data = "lung", time = "time", event = "dead",
                               covariates = I(c("age", "sex")), strata = "ph.ecog"),
                          cox_case(Surv(time, dead) ~ age + sex + strata(ph.ecog), lung_df,
                                   ties = "breslow")),
  lung_cluster_inst = c(list(data = "lung", time = "time", event = "dead",
                             covariates = I(c("age", "sex", "ph.ecog")), cluster = "inst"),
                        cox_case(Surv(time, dead) ~ age + sex + ph.ecog + cluster(inst),
                                 lung_df)),
  pbc_robust_breslow = c(list(data = "pbc", time = "time", event = "death",
                              covariates = I(c("arm", "log_bili")), robust = TRUE),
                         cox_case(Surv(time, death) ~ arm + log_bili, pbc_trial,
                                  ties = "breslow", robust = TRUE)),
  veteran_strata_robust = c(list(data = "veteran", time = "time", event = "status",
                                 covariates = I(c("trt", "karno")), strata = "celltype",
                                 robust = TRUE),
                            cox_case(Surv(time, status) ~ trt + karno + strata(celltype),
                                     veteran_df, robust = TRUE)),
  lung_strata_cluster_breslow = c(list(data = "lung", time = "time", event = "dead",
                                       covariates = I(c("age", "sex")), strata = "ph.ecog",
                                       cluster = "inst"),
                                  cox_case(Surv(time, dead) ~ age + sex + strata(ph.ecog) +
                                             cluster(inst), lung_df, ties = "breslow")),
  aml = c(list(data = "aml", time = "time", event = "status", covariates = I("x")),
          cox_case(Surv(time, status) ~ x, aml_df))
)
write_json(cox, "survival_cox.json")

# --- competing risks (cmprsk): transplant (1) competes with death (2) in the PBC trial -----------
ci_times <- c(0, 365, 730, 1461, 2922, 3652.5, 4000, 5000)
ci_case <- function(fit, times) {
  tp <- timepoints(fit, times)
  curves <- lapply(fit[names(fit) != "Tests"], function(curve) {
    list(time = curve$time, est = curve$est, var = curve$var)
  })
  list(curve_names = I(rownames(tp$est)), times = I(times), curves = curves,
       est = lapply(seq_len(nrow(tp$est)), function(i) I(unname(tp$est[i, ]))),
       var = lapply(seq_len(nrow(tp$var)), function(i) I(unname(tp$var[i, ]))))
}
fit_arm <- cuminc(pbc_trial$time, pbc_trial$status, group = pbc_trial$arm, cencode = 0)
fit_all <- cuminc(pbc_trial$time, pbc_trial$status, cencode = 0)
fit_edema <- cuminc(pbc_trial$time, pbc_trial$status, group = pbc_trial$edema_level, cencode = 0)
fit_strat <- cuminc(pbc_trial$time, pbc_trial$status, group = pbc_trial$arm,
                    strata = pbc_trial$edema_level, cencode = 0)
tests_of <- function(fit) {
  tt <- fit$Tests
  list(causes = I(as.numeric(rownames(tt))), stat = I(unname(tt[, "stat"])),
       pv = I(unname(tt[, "pv"])), df = I(unname(tt[, "df"])),
       p_upper = I(pchisq(unname(tt[, "stat"]), unname(tt[, "df"]), lower.tail = FALSE)))
}
crr_case <- function(cov_names, failcode) {
  fit <- crr(pbc_trial$time, pbc_trial$status, cov1 = as.matrix(cov_frame[, cov_names, drop = FALSE]),
             failcode = failcode, cencode = 0)
  list(r_code = sprintf(paste0("crr(pbc_trial$time, pbc_trial$status, cov1 = cbind(%s), ",
                               "failcode = %d, cencode = 0)"),
                        paste(cov_names, collapse = ", "), failcode),
       covariates = I(cov_names), cause_of_interest = failcode, coef = I(unname(fit$coef)),
       se = I(unname(sqrt(diag(fit$var)))), loglik = fit$loglik, converged = fit$converged)
}
cov_frame <- data.frame(placebo = as.numeric(pbc_trial$arm == "placebo"), age = pbc_trial$age,
                        log_bili = pbc_trial$log_bili, edema = pbc_trial$edema)
cmprsk_ref <- list(
  data = "pbc",
  cuminc_arm = c(list(r_code = "cuminc(pbc_trial$time, pbc_trial$status, group = pbc_trial$arm, cencode = 0)"),
                 ci_case(fit_arm, ci_times), list(tests = tests_of(fit_arm))),
  cuminc_all = c(list(r_code = "cuminc(pbc_trial$time, pbc_trial$status, cencode = 0)"),
                 ci_case(fit_all, ci_times)),
  cuminc_edema = c(list(r_code = "cuminc(pbc_trial$time, pbc_trial$status, group = pbc_trial$edema_level, cencode = 0)"),
                   ci_case(fit_edema, ci_times), list(tests = tests_of(fit_edema))),
  gray_stratified = c(list(r_code = "cuminc(pbc_trial$time, pbc_trial$status, group = pbc_trial$arm, strata = pbc_trial$edema_level, cencode = 0)$Tests"),
                      list(tests = tests_of(fit_strat))),
  crr_death_arm = crr_case(c("placebo"), 2L),
  crr_death_adjusted = crr_case(c("placebo", "age", "log_bili", "edema"), 2L),
  crr_transplant_adjusted = crr_case(c("placebo", "age", "log_bili"), 1L)
)
write_json(cmprsk_ref, "survival_competing.json")
