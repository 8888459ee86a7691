# Independent R implementation of hepatrial's scores, written from the published formulas
# (OPTN policy text for MELD, MELD-Na and MELD 3.0; Pugh 1973; Johnson 2015; Sterling 2006;
# Wai 2003; the ELF algorithm; Dickson 1989; Jalan 2014/2015 and Moreau 2013; Choudhury 2017;
# Li 2021). It scores 400 seeded synthetic patients and writes
# tests/validation/fixtures/scores_reference.csv, which tests/validation/test_scores_r_reference.py
# compares with hepatrial. Run from the repository root:
#   Rscript tests/validation/r/scores_reference.R
# R's round() rounds half to even, like Python's, so OPTN's half-up rounding is floor(x + 0.5).

set.seed(20261122)
n <- 400
half_up <- function(x) floor(x + 0.5)
clamp <- function(x, lo, hi) pmin(pmax(x, lo), hi)

d <- data.frame(
  sex = sample(c("M", "F"), n, replace = TRUE),
  age = round(runif(n, 20, 80)),
  bilirubin = round(exp(rnorm(n, 0.8, 1.0)), 1),
  creatinine = round(exp(rnorm(n, 0.1, 0.6)), 2),
  albumin = round(rnorm(n, 3.0, 0.8), 1),
  sodium = round(rnorm(n, 134, 5)),
  inr = round(exp(rnorm(n, 0.35, 0.3)), 2),
  dialysis = rbinom(n, 1, 0.05),
  ascites = sample(0:2, n, replace = TRUE),
  encephalopathy = sample(0:2, n, replace = TRUE),
  he_grade = sample(0:4, n, replace = TRUE, prob = c(0.5, 0.15, 0.15, 0.1, 0.1)),
  platelets = round(exp(rnorm(n, 4.5, 0.5))),
  ast = round(exp(rnorm(n, 4.2, 0.6))),
  alt = round(exp(rnorm(n, 3.9, 0.6))),
  wbc = round(exp(rnorm(n, 2.0, 0.4)), 1),
  neutrophils = round(exp(rnorm(n, 1.6, 0.45)), 2),
  urea_mmol = round(exp(rnorm(n, 1.8, 0.5)), 1),
  lactate = round(exp(rnorm(n, 0.5, 0.5)), 1),
  ha = round(exp(rnorm(n, 5, 1)), 1),
  piiinp = round(exp(rnorm(n, 2.5, 0.5)), 2),
  timp1 = round(exp(rnorm(n, 6, 0.35)), 1),
  prothrombin_time = round(runif(n, 10, 25), 1),
  edema = sample(c(0, 0.5, 1), n, replace = TRUE),
  map = round(rnorm(n, 78, 12)),
  vasopressors = rbinom(n, 1, 0.08),
  pao2_fio2 = round(rnorm(n, 330, 90)),
  renal_replacement = rbinom(n, 1, 0.05)
)
d$bilirubin <- clamp(d$bilirubin, 0.2, 60)
d$albumin <- clamp(d$albumin, 1.0, 5.5)
d$inr <- clamp(d$inr, 0.8, 9)
d$pao2_fio2 <- clamp(d$pao2_fio2, 60, 550)
d$map <- clamp(d$map, 40, 130)
# a few extreme patients so that the caps at 40 are reached
d[1:4, c("bilirubin", "inr", "creatinine")] <- list(c(45, 30, 52, 38), c(6, 4.5, 7.2, 5), c(5, 3.2, 6.1, 4))

# MELD (OPTN 2002-2016)
cr4 <- ifelse(d$dialysis == 1, 4, clamp(d$creatinine, 1, 4))
meld_i <- 0.957 * log(cr4) + 0.378 * log(pmax(d$bilirubin, 1)) + 1.12 * log(pmax(d$inr, 1)) + 0.643
d$meld_continuous <- 10 * meld_i
d$meld <- pmin(half_up(10 * meld_i), 40)

# MELD-Na (OPTN 2016) on the integer MELD(i); Kim 2008 on the continuous MELD
m <- half_up(10 * meld_i)
na137 <- clamp(d$sodium, 125, 137)
d$meld_na <- pmin(half_up(ifelse(m > 11, m + 1.32 * (137 - na137) - 0.033 * m * (137 - na137), m)), 40)
na140 <- clamp(d$sodium, 125, 140)
mc <- 10 * meld_i
d$meld_na_kim2008 <- mc - na140 - 0.025 * mc * (140 - na140) + 140

# MELD 3.0 (OPTN 2023)
b <- log(pmax(d$bilirubin, 1))
c3 <- log(ifelse(d$dialysis == 1, 3, clamp(d$creatinine, 1, 3)))
gna <- 137 - clamp(d$sodium, 125, 137)
galb <- 3.5 - clamp(d$albumin, 1.5, 3.5)
raw3 <- 1.33 * (d$sex == "F") + 4.56 * b + 0.82 * gna - 0.24 * gna * b + 9.09 * log(pmax(d$inr, 1)) +
  11.14 * c3 + 1.85 * galb - 1.83 * galb * c3 + 6
d$meld_3_continuous <- raw3
d$meld_3 <- clamp(half_up(raw3), 6, 40)

# Child-Pugh (Pugh 1973)
band <- function(x, lo, hi) ifelse(x < lo, 1, ifelse(x <= hi, 2, 3))
alb_pts <- ifelse(d$albumin > 3.5, 1, ifelse(d$albumin >= 2.8, 2, 3))
d$child_pugh_points <- band(d$bilirubin, 2, 3) + alb_pts + band(d$inr, 1.7, 2.3) + d$ascites + 1 +
  d$encephalopathy + 1

# ALBI, FIB-4, APRI, ELF, Mayo
d$albi <- 0.66 * log10(d$bilirubin * 17.1) - 0.085 * d$albumin * 10
d$fib4 <- d$age * d$ast / (d$platelets * sqrt(d$alt))
d$apri <- d$ast / 40 * 100 / d$platelets
d$elf <- 2.494 + 0.846 * log(d$ha) + 0.735 * log(d$piiinp) + 0.391 * log(d$timp1)
d$mayo_pbc <- 0.871 * log(d$bilirubin) - 2.53 * log(d$albumin) + 0.039 * d$age +
  2.38 * log(d$prothrombin_time) + 0.859 * d$edema

# CLIF-C OF, ACLF grade, CLIF-C ACLF, CLIF-C AD
liver <- ifelse(d$bilirubin >= 12, 3, ifelse(d$bilirubin >= 6, 2, 1))
kidney <- ifelse(d$renal_replacement == 1 | d$creatinine >= 3.5, 3, ifelse(d$creatinine >= 2, 2, 1))
brain <- ifelse(d$he_grade >= 3, 3, ifelse(d$he_grade >= 1, 2, 1))
coag <- ifelse(d$inr >= 2.5, 3, ifelse(d$inr >= 2, 2, 1))
circ <- ifelse(d$vasopressors == 1, 3, ifelse(d$map < 70, 2, 1))
resp <- ifelse(d$pao2_fio2 <= 200, 3, ifelse(d$pao2_fio2 <= 300, 2, 1))
d$clif_of <- liver + kidney + brain + coag + circ + resp
kf <- kidney >= 2
nf <- (liver == 3) + kf + (brain == 3) + (coag == 3) + (circ == 3) + (resp == 3)
kd <- d$creatinine >= 1.5 & d$creatinine < 2 & d$renal_replacement == 0
bd <- d$he_grade %in% c(1, 2)
g1 <- nf == 1 & (kf | ((brain == 3) & kd) | (!kf & brain != 3 & (kd | bd)))
d$aclf_grade <- ifelse(nf >= 3, 3, ifelse(nf == 2, 2, ifelse(g1, 1, 0)))
d$clif_c_aclf <- 10 * (0.33 * d$clif_of + 0.04 * d$age + 0.63 * log(d$wbc) - 2)
d$clif_c_ad <- 10 * (0.03 * d$age + 0.66 * log(d$creatinine) + 1.71 * log(d$inr) +
  0.88 * log(d$wbc) - 0.05 * d$sodium + 8)

# AARC and COSSH-ACLF II
d$aarc <- band(d$bilirubin, 15, 25) + ifelse(d$he_grade >= 3, 3, ifelse(d$he_grade >= 1, 2, 1)) +
  band(d$inr, 1.8, 2.5) + band(d$lactate, 1.5, 2.5) + band(d$creatinine, 0.7, 1.5)
he_score <- ifelse(d$he_grade >= 3, 3, ifelse(d$he_grade >= 1, 2, 1))
d$cossh_aclf_ii <- 1.649 * log(d$inr) + 0.457 * he_score + 0.425 * log(d$neutrophils) +
  0.396 * log(d$bilirubin * 17.1) + 0.576 * log(d$urea_mmol) + 0.033 * d$age

write.csv(d, "tests/validation/fixtures/scores_reference.csv", row.names = FALSE)
cat("wrote", nrow(d), "patients\n")
