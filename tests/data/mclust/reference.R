# Reference log-likelihoods and BIC values of R mclust on the bundled data sets.
# Run with R 4.2.2 and mclust 6.0.0 (Debian packages r-base-core, r-cran-mclust, r-cran-mass):
#   Rscript reference.R > tables.txt
# mclust's BIC is 2 loglik - npar log(n) (larger is better). Covariance models shared with
# emgmm: EEE = tied, VVV = full, VVI = diag, VII = spherical; in one dimension E = tied
# (equal variance) and V = full (unequal variance). Default mclust settings (hierarchical
# agglomeration start on the SVD-transformed data, relative tolerance 1e-5).
library(mclust)
library(MASS)
data(GvHD)
reference <- function(name, X, models) {
  b <- mclustBIC(X, G = 1:9, modelNames = models)
  for (m in models) for (g in 1:9) {
    bic <- b[g, m]
    ll <- if (is.na(bic)) NA else Mclust(X, G = g, modelNames = m, x = b)$loglik
    cat(sprintf("%s,%s,%d,%.6f,%.6f\n", name, m, g, ll, bic))
  }
  best <- Mclust(X, G = 1:9, modelNames = models, x = b)
  cat(sprintf("BEST,%s,%s,%d,%.6f,%.6f\n", name, best$modelName, best$G, best$loglik, best$bic))
}
reference("faithful", faithful, c("EEE", "VVV", "VVI", "VII"))
reference("iris", iris[, 1:4], c("EEE", "VVV", "VVI", "VII"))
reference("galaxies", galaxies / 1000, c("E", "V"))   # velocities in 1000 km/s
reference("gvhd_pos", GvHD.pos, c("EEE", "VVV", "VVI", "VII"))
