# Reference figures for hepatrial.stats: ANCOVA / t-tests, proportions, rates and MMRM.
#
# Run from the repository root:  Rscript tests/validation/r/linear_reference.R
# Needs R >= 4.2 with the recommended packages survival, nlme and MASS.
# Writes tests/validation/fixtures/linear_*.csv. Every figure is written with 17 significant
# digits (sprintf("%.17g")) in long form: case, quantity, value. The tests read these files and
# never run R.
suppressPackageStartupMessages({
  library(survival)
  library(nlme)
  library(MASS)
})
out_dir <- "tests/validation/fixtures"
fmt <- function(x) sprintf("%.17g", x)
figures <- list()
put <- function(case, quantity, value) {
  figures[[length(figures) + 1L]] <<- data.frame(case = case, quantity = quantity,
                                                 value = fmt(as.numeric(value)))
}
write_data <- function(df, name) {
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], function(v) ifelse(is.na(v), "NA", fmt(v)))
  write.csv(df, file.path(out_dir, name), row.names = FALSE, quote = TRUE, na = "NA")
}

# ---------------------------------------------------------------------------------------------
# Data: Mayo PBC sequential data (survival::pbcseq), D-penicillamine (trt 1) vs placebo (trt 2).
# For each patient: the baseline visit (day 0) and, within each window, the visit closest to
# the target day (ties: the earlier visit). Windows: 6 months [120, 240] target 182,
# 1 year [300, 430] target 365, 2 years [600, 850] target 730.
# ---------------------------------------------------------------------------------------------
pbcseq <- survival::pbcseq
pbcseq <- pbcseq[order(pbcseq$id, pbcseq$day), ]
pick_visit <- function(lo, hi, target) {
  w <- pbcseq[pbcseq$day >= lo & pbcseq$day <= hi, ]
  w$dist <- abs(w$day - target)
  w <- w[order(w$id, w$dist, w$day), ]
  w[!duplicated(w$id), ]
}
base <- pbcseq[pbcseq$day == 0, ]
v6 <- pick_visit(120, 240, 182)
v12 <- pick_visit(300, 430, 365)
v24 <- pick_visit(600, 850, 730)

# ANCOVA data: albumin (g/dL) at baseline and at 1 year; arm labels as text.
anc <- merge(base[, c("id", "trt", "age", "sex", "albumin", "bili")],
             v12[, c("id", "albumin", "bili")], by = "id", all.x = TRUE,
             suffixes = c("_baseline", "_1y"))
anc$arm <- ifelse(anc$trt == 1, "D-penicillamine", "placebo")
anc$change <- anc$albumin_1y - anc$albumin_baseline
anc <- anc[, c("id", "arm", "age", "sex", "albumin_baseline", "albumin_1y", "change",
               "bili_baseline", "bili_1y")]
write_data(anc, "linear_ancova_pbcseq.csv")
cc <- anc[!is.na(anc$albumin_1y), ]
put("ancova", "n_used", nrow(cc))
put("ancova", "n_missing_follow_up", sum(is.na(anc$albumin_1y)))

# (1) lm(change ~ arm + albumin_baseline): reference arm "D-penicillamine" (first sorted level).
fit1 <- lm(change ~ arm + albumin_baseline, data = cc)
s1 <- summary(fit1)$coefficients
ci1 <- confint(fit1, level = 0.95)
put("ancova_change", "estimate", s1["armplacebo", "Estimate"])
put("ancova_change", "se", s1["armplacebo", "Std. Error"])
put("ancova_change", "t", s1["armplacebo", "t value"])
put("ancova_change", "p_value", s1["armplacebo", "Pr(>|t|)"])
put("ancova_change", "df", fit1$df.residual)
put("ancova_change", "ci_low", ci1["armplacebo", 1])
put("ancova_change", "ci_high", ci1["armplacebo", 2])
put("ancova_change", "sigma", summary(fit1)$sigma)
put("ancova_change", "slope_baseline", coef(fit1)[["albumin_baseline"]])
# LS means as emmeans computes them: each arm with albumin_baseline at its mean.
V1 <- vcov(fit1)
for (a in c("D-penicillamine", "placebo")) {
  L <- c(1, as.numeric(a == "placebo"), mean(cc$albumin_baseline))
  put(paste0("ancova_change_lsmean_", a), "estimate", sum(L * coef(fit1)))
  put(paste0("ancova_change_lsmean_", a), "se", sqrt(drop(t(L) %*% V1 %*% L)))
}
# (1b) lm(albumin_1y ~ arm + albumin_baseline): same treatment effect as (1) by algebra.
fit1b <- lm(albumin_1y ~ arm + albumin_baseline, data = cc)
put("ancova_follow_up", "estimate", coef(fit1b)[["armplacebo"]])
put("ancova_follow_up", "se", summary(fit1b)$coefficients["armplacebo", "Std. Error"])

# (2) lm(change ~ arm + albumin_baseline + age + sex), 90% CI; LS means with albumin_baseline
# and age at their means and equal weights over sex (emmeans' reference grid).
fit2 <- lm(change ~ arm + albumin_baseline + age + sex, data = cc)
s2 <- summary(fit2)$coefficients
ci2 <- confint(fit2, level = 0.90)
put("ancova_adjusted", "estimate", s2["armplacebo", "Estimate"])
put("ancova_adjusted", "se", s2["armplacebo", "Std. Error"])
put("ancova_adjusted", "p_value", s2["armplacebo", "Pr(>|t|)"])
put("ancova_adjusted", "df", fit2$df.residual)
put("ancova_adjusted", "ci_low", ci2["armplacebo", 1])
put("ancova_adjusted", "ci_high", ci2["armplacebo", 2])
V2 <- vcov(fit2)
for (a in c("D-penicillamine", "placebo")) {
  L <- c(1, as.numeric(a == "placebo"), mean(cc$albumin_baseline), mean(cc$age), 0.5)
  put(paste0("ancova_adjusted_lsmean_", a), "estimate", sum(L * coef(fit2)))
  put(paste0("ancova_adjusted_lsmean_", a), "se", sqrt(drop(t(L) %*% V2 %*% L)))
}

# (3) t.test(change ~ arm, var.equal = TRUE) and (4) Welch t.test(change ~ arm).
for (welch in c(FALSE, TRUE)) {
  tt <- t.test(change ~ arm, data = cc, var.equal = !welch, conf.level = 0.95)
  case <- if (welch) "welch" else "t_test"
  # R reports mean(D-penicillamine) - mean(placebo); hepatrial reports placebo minus reference.
  put(case, "estimate", -(tt$estimate[[1]] - tt$estimate[[2]]))
  put(case, "statistic", -tt$statistic[[1]])
  put(case, "df", tt$parameter[[1]])
  put(case, "p_value", tt$p.value)
  put(case, "ci_low", -tt$conf.int[2])
  put(case, "ci_high", -tt$conf.int[1])
  put(case, "se", tt$stderr)
}

# ---------------------------------------------------------------------------------------------
# Proportions: 2x2 tables, group 1 in the first row. Seed trial tables and pbc-derived tables.
# ---------------------------------------------------------------------------------------------
pbc <- survival::pbc
pbc <- pbc[!is.na(pbc$trt), ]
dead4 <- with(pbc, status == 2 & time <= 4 * 365.25)
tables <- list(
  seed_a = c(9, 56, 18, 54),
  seed_b = c(10, 56, 20, 54),
  seed_survival = c(41, 56, 30, 54),
  pbc_death_4y = c(sum(dead4[pbc$trt == 1]), sum(pbc$trt == 1),
                   sum(dead4[pbc$trt == 2]), sum(pbc$trt == 2)),
  pbc_ascites = c(sum(pbc$ascites[pbc$trt == 1]), sum(pbc$trt == 1),
                  sum(pbc$ascites[pbc$trt == 2]), sum(pbc$trt == 2)),
  small = c(1, 12, 7, 11),
  zero_cell = c(0, 15, 6, 14)
)
for (nm in names(tables)) {
  x <- tables[[nm]]
  m <- matrix(c(x[1], x[2] - x[1], x[3], x[4] - x[3]), 2, byrow = TRUE)
  put(nm, "x1", x[1]); put(nm, "n1", x[2]); put(nm, "x2", x[3]); put(nm, "n2", x[4])
  pe <- suppressWarnings(chisq.test(m, correct = FALSE))
  py <- suppressWarnings(chisq.test(m, correct = TRUE))
  put(nm, "chisq_statistic", pe$statistic); put(nm, "chisq_p", pe$p.value)
  put(nm, "yates_statistic", py$statistic); put(nm, "yates_p", py$p.value)
  for (lev in c(0.95, 0.90)) {
    tag <- sprintf("_%02d", round(100 * lev))
    ft <- fisher.test(m, conf.level = lev)
    put(nm, paste0("fisher_p", tag), ft$p.value)
    put(nm, paste0("fisher_or", tag), ft$estimate)
    put(nm, paste0("fisher_or_low", tag), ft$conf.int[1])
    put(nm, paste0("fisher_or_high", tag), ft$conf.int[2])
    # Wilson score intervals (prop.test without continuity correction) and Newcombe's
    # hybrid score interval (Newcombe 1998, method 10) for p1 - p2.
    w1 <- suppressWarnings(prop.test(x[1], x[2], conf.level = lev, correct = FALSE))$conf.int
    w2 <- suppressWarnings(prop.test(x[3], x[4], conf.level = lev, correct = FALSE))$conf.int
    p1 <- x[1] / x[2]; p2 <- x[3] / x[4]; d <- p1 - p2
    put(nm, paste0("wilson1_low", tag), w1[1]); put(nm, paste0("wilson1_high", tag), w1[2])
    put(nm, paste0("newcombe_low", tag), d - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2))
    put(nm, paste0("newcombe_high", tag), d + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
    z <- qnorm(1 - (1 - lev) / 2)
    if (all(x[c(1, 3)] > 0) && all(x[c(2, 4)] > x[c(1, 3)])) {
      se_rr <- sqrt(1 / x[1] - 1 / x[2] + 1 / x[3] - 1 / x[4])
      put(nm, paste0("rr_low", tag), exp(log(p1 / p2) - z * se_rr))
      put(nm, paste0("rr_high", tag), exp(log(p1 / p2) + z * se_rr))
      se_or <- sqrt(sum(1 / m))
      or <- (m[1, 1] * m[2, 2]) / (m[1, 2] * m[2, 1])
      put(nm, paste0("or_low", tag), exp(log(or) - z * se_or))
      put(nm, paste0("or_high", tag), exp(log(or) + z * se_or))
    }
  }
  # prop.test(correct = FALSE) on the two proportions: its statistic is Pearson's chi-square.
  pt <- suppressWarnings(prop.test(x[c(1, 3)], x[c(2, 4)], correct = FALSE))
  put(nm, "prop_test_statistic", pt$statistic)
  # fisher.test's conditional MLE comes from uniroot with tol = .Machine$double.eps^0.25; the
  # same estimating equation solved to tol = 1e-14 gives a reference at full precision.
  mm <- m[1, 1]; nn <- m[2, 1] + m[2, 2]; kk <- m[1, 1] + m[2, 1]; mrow <- m[1, 1] + m[1, 2]
  support <- max(0L, kk - nn):min(kk, mrow)
  logdc <- dhyper(support, mrow, nn, kk, log = TRUE)
  dnhyper <- function(ncp) {
    d <- logdc + log(ncp) * support
    d <- exp(d - max(d))
    d / sum(d)
  }
  mnhyper <- function(ncp) {
    if (ncp == 0) return(min(support))
    if (ncp == Inf) return(max(support))
    sum(support * dnhyper(ncp))
  }
  if (mm > min(support) && mm < max(support)) {
    mu <- mnhyper(1)
    mle <- if (mu > mm) {
      uniroot(function(t) mnhyper(t) - mm, c(0, 1), tol = 1e-14)$root
    } else if (mu < mm) {
      1 / uniroot(function(t) mnhyper(1 / t) - mm, c(.Machine$double.eps, 1), tol = 1e-14)$root
    } else 1
    put(nm, "fisher_or_precise", mle)
  }
  # fisher.test's exact confidence limits, again solved to tol = 1e-14 (R's own code otherwise).
  pnhyper <- function(q, ncp, upper.tail = FALSE) {
    if (ncp == 1) {
      return(if (upper.tail) phyper(q - 1, mrow, nn, kk, lower.tail = FALSE)
             else phyper(q, mrow, nn, kk))
    }
    if (ncp == 0) return(as.numeric(if (upper.tail) q <= min(support) else q >= min(support)))
    if (ncp == Inf) return(as.numeric(if (upper.tail) q <= max(support) else q >= max(support)))
    sum(dnhyper(ncp)[if (upper.tail) support >= q else support <= q])
  }
  ncp_u <- function(alpha) {
    if (mm == max(support)) return(Inf)
    p <- pnhyper(mm, 1)
    if (p < alpha) uniroot(function(t) pnhyper(mm, t) - alpha, c(0, 1), tol = 1e-14)$root
    else if (p > alpha) 1 / uniroot(function(t) pnhyper(mm, 1 / t) - alpha,
                                    c(.Machine$double.eps, 1), tol = 1e-14)$root
    else 1
  }
  ncp_l <- function(alpha) {
    if (mm == min(support)) return(0)
    p <- pnhyper(mm, 1, upper.tail = TRUE)
    if (p > alpha) uniroot(function(t) pnhyper(mm, t, upper.tail = TRUE) - alpha, c(0, 1),
                           tol = 1e-14)$root
    else if (p < alpha) 1 / uniroot(function(t) pnhyper(mm, 1 / t, upper.tail = TRUE) - alpha,
                                    c(.Machine$double.eps, 1), tol = 1e-14)$root
    else 1
  }
  put(nm, "fisher_or_low_precise_95", ncp_l(0.025))
  put(nm, "fisher_or_high_precise_95", ncp_u(0.025))
}

# ---------------------------------------------------------------------------------------------
# Rates. poisson.test on aggregated counts; glm.nb on per-participant counts with offset.
# pbcseq: per patient, the number of follow-up visits (day > 0) with ascites, over follow-up in
# years (the last visit day / 365.25; patients with no follow-up visit are not at risk).
# ---------------------------------------------------------------------------------------------
fu <- pbcseq[pbcseq$day > 0, ]
per <- aggregate(cbind(ascites_visits = fu$ascites) ~ id, data = fu, FUN = sum)
last <- aggregate(day ~ id, data = fu, FUN = max)
per <- merge(per, last, by = "id")
per <- merge(per, base[, c("id", "trt")], by = "id")
per$arm <- ifelse(per$trt == 1, "D-penicillamine", "placebo")
per$years <- per$day / 365.25
per <- per[, c("id", "arm", "ascites_visits", "years")]
write_data(per, "linear_rates_pbcseq.csv")
e <- tapply(per$ascites_visits, per$arm, sum)
pt_years <- tapply(per$years, per$arm, sum)
rate_cases <- list(
  pbcseq_ascites = c(e[["placebo"]], pt_years[["placebo"]], e[["D-penicillamine"]],
                     pt_years[["D-penicillamine"]]),
  # 10 vs 4 serious adverse events over illustrative participant-years
  sae = c(10, 40.5, 4, 41.25),
  small = c(2, 17.3, 9, 20.1),
  zero = c(0, 12, 5, 13)
)
for (nm in names(rate_cases)) {
  r <- rate_cases[[nm]]
  put(paste0("poisson_", nm), "events1", r[1]); put(paste0("poisson_", nm), "time1", r[2])
  put(paste0("poisson_", nm), "events2", r[3]); put(paste0("poisson_", nm), "time2", r[4])
  for (lev in c(0.95, 0.90)) {
    tag <- sprintf("_%02d", round(100 * lev))
    ptest <- poisson.test(c(r[1], r[3]), c(r[2], r[4]), conf.level = lev)
    put(paste0("poisson_", nm), paste0("estimate", tag), ptest$estimate)
    put(paste0("poisson_", nm), paste0("p_value", tag), ptest$p.value)
    put(paste0("poisson_", nm), paste0("ci_low", tag), ptest$conf.int[1])
    put(paste0("poisson_", nm), paste0("ci_high", tag), ptest$conf.int[2])
  }
  # Wald: Poisson glm with offset and an indicator of group 1 (coefficient = log RR).
  if (all(r[c(1, 3)] > 0)) {
    gd <- data.frame(y = r[c(1, 3)], t = r[c(2, 4)], g = factor(c("1", "2"), levels = c("2", "1")))
    gf <- glm(y ~ g + offset(log(t)), family = poisson, data = gd,
              control = glm.control(epsilon = 1e-14, maxit = 100))
    put(paste0("poisson_", nm), "wald_log_rr", coef(gf)[["g1"]])
    put(paste0("poisson_", nm), "wald_se", summary(gf)$coefficients["g1", "Std. Error"])
    put(paste0("poisson_", nm), "wald_p", summary(gf)$coefficients["g1", "Pr(>|z|)"])
  }
}
per$arm <- factor(per$arm)
nb <- glm.nb(ascites_visits ~ arm + offset(log(years)), data = per,
             control = glm.control(epsilon = 1e-13, maxit = 200))
snb <- summary(nb)$coefficients
put("negbin", "log_rate_ratio", snb["armplacebo", "Estimate"])
put("negbin", "se", snb["armplacebo", "Std. Error"])
put("negbin", "p_value", snb["armplacebo", "Pr(>|z|)"])
put("negbin", "intercept", snb["(Intercept)", "Estimate"])
put("negbin", "theta", nb$theta)
put("negbin", "se_theta", nb$SE.theta)
put("negbin", "twologlik", nb$twologlik)
# MASS::theta.ml returns the SE from the information at the iterate *before* its last Newton
# step; the same information formula evaluated at the final theta and fitted means:
info_theta <- with(list(th = nb$theta, mu = fitted(nb), y = per$ascites_visits),
                   sum(-trigamma(th + y) + trigamma(th) - 1 / th + 2 / (mu + th) -
                         (y + th) / (mu + th)^2))
put("negbin", "se_theta_at_theta", sqrt(1 / info_theta))
ci_nb <- confint.default(nb, level = 0.95)
put("negbin", "ci_low", exp(ci_nb["armplacebo", 1]))
put("negbin", "ci_high", exp(ci_nb["armplacebo", 2]))

# ---------------------------------------------------------------------------------------------
# MMRM: albumin (g/dL) at 6 months, 1 year and 2 years, baseline albumin and age as covariates;
# missing visits stay missing (MAR, all observed data used).
# gls(albumin ~ arm * visit + albumin_baseline + age, correlation = corSymm(form = ~ vi | id),
#     weights = varIdent(form = ~ 1 | visit), method = "REML", na.action = na.omit,
#     control = glsControl(opt = "optim", msTol = 1e-15, tolerance = 1e-12, ...))
# ---------------------------------------------------------------------------------------------
long <- rbind(
  data.frame(id = v6$id, visit = "m06", albumin = v6$albumin),
  data.frame(id = v12$id, visit = "m12", albumin = v12$albumin),
  data.frame(id = v24$id, visit = "m24", albumin = v24$albumin)
)
long <- merge(long, base[, c("id", "trt", "age", "albumin")], by = "id",
              suffixes = c("", "_baseline"))
long$arm <- ifelse(long$trt == 1, "D-penicillamine", "placebo")
long <- long[order(long$id, long$visit), c("id", "arm", "visit", "age", "albumin_baseline",
                                          "albumin")]
write_data(long, "linear_mmrm_pbcseq.csv")
long$arm <- factor(long$arm)
long$visit <- factor(long$visit)
long$vi <- as.integer(long$visit)
# gls' default optimizer (nlminb) stops at a relative objective change of 1e-10, leaving
# coefficients accurate to only ~1e-5; optim with reltol = msTol and then 100 * eps (gls'
# own outer loop) reaches the REML maximum to ~1e-11 in the log-likelihood.
tight <- glsControl(tolerance = 1e-12, msTol = 1e-15, msMaxIter = 1000, maxIter = 1000,
                    opt = "optim")
g <- gls(albumin ~ arm * visit + albumin_baseline + age, data = long,
         correlation = corSymm(form = ~ vi | id), weights = varIdent(form = ~ 1 | visit),
         method = "REML", na.action = na.omit,
         control = tight)
put("mmrm", "loglik", logLik(g))
put("mmrm", "n_obs", nrow(long))
put("mmrm", "n_subjects", length(unique(long$id)))
cf <- coef(g)
Vb <- vcov(g)
for (k in seq_along(cf)) {
  put("mmrm_coef", paste0("estimate:", names(cf)[k]), cf[k])
  put("mmrm_coef", paste0("se:", names(cf)[k]), sqrt(Vb[k, k]))
}
Sig <- getVarCov(g, individual = long$id[match(TRUE, table(long$id)[as.character(long$id)] == 3)])
for (i in 1:3) for (j in 1:3) put("mmrm_sigma", sprintf("%d,%d", i, j), Sig[i, j])
# LS means (emmeans' grid: covariates at the mean over the analysed rows) and differences.
visits <- levels(long$visit)
xbar <- c(mean(long$albumin_baseline), mean(long$age))
for (v in visits) {
  Ls <- list()
  for (a in levels(long$arm)) {
    nd <- data.frame(arm = factor(a, levels = levels(long$arm)),
                     visit = factor(v, levels = visits),
                     albumin_baseline = xbar[1], age = xbar[2])
    L <- model.matrix(~ arm * visit + albumin_baseline + age, nd)[1, names(cf)]
    Ls[[a]] <- L
    put(paste0("mmrm_lsmean_", a, "_", v), "estimate", sum(L * cf))
    put(paste0("mmrm_lsmean_", a, "_", v), "se", sqrt(drop(t(L) %*% Vb %*% L)))
  }
  Ld <- Ls[["placebo"]] - Ls[["D-penicillamine"]]
  put(paste0("mmrm_diff_", v), "estimate", sum(Ld * cf))
  put(paste0("mmrm_diff_", v), "se", sqrt(drop(t(Ld) %*% Vb %*% Ld)))
}

# Satterthwaite df of the per-visit differences without the mmrm package: minus twice the REML
# log-likelihood coded here per subject, parametrized by the unique entries of Sigma, at gls'
# estimate; Hessian by optimHess (finite differences) and the gradient of c' Phi c by central
# differences. At the REML maximum the df do not depend on the parametrization, so they are
# comparable with mmrm's (which differentiates its own parametrization exactly).
X_all <- model.matrix(~ arm * visit + albumin_baseline + age, long)[, names(cf)]
y_all <- long$albumin
rows_by_id <- split(seq_len(nrow(long)), long$id)
S_hat <- matrix(0, 3, 3)
for (i in 1:3) for (j in 1:3) S_hat[i, j] <- Sig[i, j]
upper <- which(upper.tri(S_hat, diag = TRUE))
as_sigma <- function(s) {
  S <- matrix(0, 3, 3)
  S[upper] <- s
  S + t(S) - diag(diag(S))
}
reml_parts <- function(s) {
  S <- as_sigma(s)
  p <- ncol(X_all)
  xtvx <- matrix(0, p, p); xtvy <- numeric(p); logdet <- 0
  for (r in rows_by_id) {
    v <- long$vi[r]; Si <- solve(S[v, v, drop = FALSE])
    Xi <- X_all[r, , drop = FALSE]
    xtvx <- xtvx + t(Xi) %*% Si %*% Xi
    xtvy <- xtvy + t(Xi) %*% Si %*% y_all[r]
    logdet <- logdet + determinant(S[v, v, drop = FALSE])$modulus
  }
  phi <- solve(xtvx); beta <- phi %*% xtvy; quad <- 0
  for (r in rows_by_id) {
    v <- long$vi[r]; e <- y_all[r] - X_all[r, , drop = FALSE] %*% beta
    quad <- quad + drop(t(e) %*% solve(S[v, v, drop = FALSE]) %*% e)
  }
  list(value = (nrow(long) - p) * log(2 * pi) + logdet + determinant(xtvx)$modulus + quad,
       phi = phi)
}
s_hat <- S_hat[upper]
put("mmrm_dense", "loglik", -reml_parts(s_hat)$value / 2)
H <- optimHess(s_hat, function(s) reml_parts(s)$value,
               control = list(ndeps = rep(1e-4, length(s_hat))))
A <- 2 * solve(H)
for (v in visits) {
  nd <- lapply(levels(long$arm), function(a) data.frame(
    arm = factor(a, levels = levels(long$arm)), visit = factor(v, levels = visits),
    albumin_baseline = xbar[1], age = xbar[2]))
  L <- lapply(nd, function(d) model.matrix(~ arm * visit + albumin_baseline + age, d)[1, names(cf)])
  Ld <- L[[2]] - L[[1]]
  vf <- function(s) drop(t(Ld) %*% reml_parts(s)$phi %*% Ld)
  h <- 1e-5
  g <- vapply(seq_along(s_hat), function(k) {
    e <- replace(numeric(length(s_hat)), k, h)
    (vf(s_hat + e) - vf(s_hat - e)) / (2 * h)
  }, numeric(1))
  put(paste0("mmrm_diff_", v), "df_dense", 2 * vf(s_hat)^2 / drop(t(g) %*% A %*% g))
}

# Orthodont (nlme): complete, balanced repeated measures (4 ages per child); unstructured
# covariance with saturated means, where Satterthwaite's df for a per-visit difference is
# exactly n - 2 (hand derivation in the test).
orth <- as.data.frame(nlme::Orthodont)
orth$Subject <- as.character(orth$Subject)
orth$Sex <- as.character(orth$Sex)
orth$age_f <- factor(orth$age)
write_data(orth[, c("Subject", "Sex", "age", "distance")], "linear_mmrm_orthodont.csv")
orth$vi <- as.integer(orth$age_f)
go <- gls(distance ~ Sex * age_f, data = orth, correlation = corSymm(form = ~ vi | Subject),
          weights = varIdent(form = ~ 1 | age_f), method = "REML",
          control = tight)
put("orthodont", "loglik", logLik(go))
cfo <- coef(go)
Vo <- vcov(go)
for (k in seq_along(cfo)) {
  put("orthodont_coef", paste0("estimate:", names(cfo)[k]), cfo[k])
  put("orthodont_coef", paste0("se:", names(cfo)[k]), sqrt(Vo[k, k]))
}

fig <- do.call(rbind, figures)
write.csv(fig, file.path(out_dir, "linear_reference.csv"), row.names = FALSE, quote = TRUE)
cat(sprintf("wrote %d figures\n", nrow(fig)))
