#!/usr/bin/python3
"""numpy prototype of the gam detector (retrospective fit over one series' span) and the candidate changes.

Base model (faithful to engine/meterbench/model/gam_detector.hpp defaults):
  u = T(y); u - offset = X beta, X = [1, t, 25 hinges max(t - tau_j, 0) over the first 80%, weekly order 3,
  yearly order 10 (history >= 548 days), billing-cycle order 2], columns standardised over observed rows;
  (X'X/n + Lambda) beta = X'u/n with Lambda = 0.01 on hinges, 0.001 on Fourier, 0 on intercept/trend, n = span
  rows; hinge j dropped when < half of its segment is observed. Huber c = 2 by modified residuals; scale =
  1.4826 median|r| of the LS residuals, then held; band scale = 1.4826 median|r| of the final fit, floored
  (scale_floor 0.3 on the residuals above a repeated minimum); expected clamped at T(0) on non-negative series.
  score = |u - expected| / scale; flag = score > z.
Options (cfg dict), one change at a time:
  transform: 'none' | 'log1p' | 'auto' (Box-Cox of y + 1, lambda from the slope of log local scale on log local level)
             | '<lambda>' (fixed Box-Cox) | 'logc<share>' (log1p(y/c), c = share x median of the positive values)
  start: 'ls' (default) | 'hb' (high-breakdown: LS on rows within 3 robust sd of a 29-day rolling median, then
         2 LTS concentration steps keeping the 75% smallest |r|)
  rescale: False | True (scale = MAD of the current residuals re-estimated every IRLS iteration)
  wd: False | True (weekday factor: clip(MAD_d / MAD_all, 0.5, 2))
  local: 0 | W days (rolling centred MAD about the local median of the residuals, floored at local_floor x global,
         capped at local_cap x global when local_cap is set)
  count: False | True (count band for small counts: flag only outside the Poisson band too; needs scipy,
         which tools/setup.sh does not install: apt-get install python3-scipy)
  huber_c: Huber constant (default 2)
  run: [w, ...] run score over centred w-day windows (run_k scales it)
  rules: stuck / stopped / stopped_mode (see rules()); unit (ratio); zerorun (days)
"""
import numpy as np
import pandas as pd

K = 1.4826



def zero_run_flags(y, obs, k):
    """The zero-run rule: flags from the k-th zero of >= k consecutive observed zeros that follow 8 weeks with
    >= 90% non-zero observed days. y has no NaN (gaps already replaced); obs marks the observed days."""
    z0 = obs & (y == 0)
    nz = obs & (y != 0)
    flags = np.zeros(len(y), dtype=bool)
    i, n = 0, len(y)
    while i < n:
        if not z0[i]:
            i += 1
            continue
        j = i
        while j < n and z0[j]:
            j += 1
        if j - i >= k and i >= 56 and nz[i - 56:i].mean() >= 0.9:
            flags[i + k - 1:j] = True
        i = j
    return flags

def design(dates, obs, changepoints=25, cp_range=0.8, weekly=3, yearly=10, monthly=2, yearly_min=548):
    n = len(dates)
    t = np.arange(n) / n
    cols = [t]
    kinds = [0]
    # changepoints: evenly over the first cp_range, excluding 0
    cps = np.linspace(0, cp_range * n, changepoints + 1)[1:].astype(int)
    bounds = list(cps) + [n]
    for j, c in enumerate(cps):
        seg = obs[c:bounds[j + 1]]
        if len(seg) < 2 or seg.sum() < max(2, 0.5 * len(seg)):
            continue
        cols.append(np.maximum(t - c / n, 0))
        kinds.append(1)
    dow = dates.dayofweek.to_numpy()
    for k in range(1, weekly + 1):
        cols += [np.sin(2 * np.pi * k * dow / 7), np.cos(2 * np.pi * k * dow / 7)]
        kinds += [2, 2]
    oi = np.flatnonzero(obs)
    if yearly and oi[-1] - oi[0] + 1 >= yearly_min:
        doy = (dates - pd.Timestamp('2000-01-01')).days.to_numpy() / 365.25
        for k in range(1, yearly + 1):
            cols += [np.sin(2 * np.pi * k * doy), np.cos(2 * np.pi * k * doy)]
            kinds += [2, 2]
    dom = (dates.day.to_numpy() - 1) / dates.days_in_month.to_numpy()
    for k in range(1, monthly + 1):
        cols += [np.sin(2 * np.pi * k * dom), np.cos(2 * np.pi * k * dom)]
        kinds += [2, 2]
    X = np.column_stack(cols)
    m = X[obs].mean(0)
    sd = X[obs].std(0)
    sd[sd == 0] = 1
    X = (X - m) / sd
    X = np.column_stack([np.ones(n), X])
    lam = np.array([0.0] + [{0: 0.0, 1: 0.01, 2: 0.001}[k] for k in kinds])
    return X, lam


def mad0(r):
    return K * np.median(np.abs(r))


def boxcox_lambda(y):
    """lambda from the slope b of log(local scale) on log(local level) over 28-day blocks: sd ~ level^b ->
    lambda = 1 - b, clipped to [0, 1], rounded to 0.25."""
    n = len(y)
    lv, sc = [], []
    for a in range(0, n - 27, 28):
        s = y[a:a + 28]
        s = s[np.isfinite(s)]
        if len(s) < 14:
            continue
        d = np.diff(s)
        L = np.median(s)
        S = K * np.median(np.abs(d - np.median(d))) / np.sqrt(2)
        if L > 0 and S > 0:
            lv.append(np.log(L + 1))
            sc.append(np.log(S))
    if len(lv) < 6 or np.ptp(lv) < 0.2:
        return 1.0 if len(lv) >= 6 else 0.0
    lv, sc = np.array(lv), np.array(sc)
    # Theil-Sen slope
    i, j = np.triu_indices(len(lv), 1)
    dl = lv[j] - lv[i]
    ok = np.abs(dl) > 1e-9
    b = np.median((sc[j] - sc[i])[ok] / dl[ok])
    return float(np.clip(np.round((1 - b) * 4) / 4, 0, 1))


def T(y, lam):
    y = np.maximum(y, 0) + 1
    return np.log(y) if lam == 0 else (y ** lam - 1) / lam


def rolling_median(u, w):
    return pd.Series(u).rolling(w, center=True, min_periods=max(3, w // 4)).median().to_numpy()


def fit(u, obs, X, lam, start='ls', rescale=False, c=2.0, max_it=50, tol=0.005):
    n = len(u)
    off = u[obs].mean()
    y = np.where(obs, u - off, 0.0)
    Xo = X[obs]
    G = Xo.T @ Xo / n + np.diag(lam)
    L = np.linalg.cholesky(G + 1e-10 * np.eye(len(lam)))

    def solve(rows, yy):
        if rows is None:
            rhs = Xo.T @ yy / n
            return np.linalg.solve(L.T, np.linalg.solve(L, rhs))
        Xr = Xo[rows]
        Gr = Xr.T @ Xr / n + np.diag(lam)
        return np.linalg.solve(Gr + 1e-10 * np.eye(len(lam)), Xr.T @ yy[rows] / n)

    yo = y[obs]
    if start == 'hb':
        m = rolling_median(np.where(obs, u, np.nan), 29)[obs]
        d = u[obs] - m
        ok = np.isfinite(d)
        s0 = K * np.median(np.abs(d[ok] - np.median(d[ok])))
        keep = ok & (np.abs(d - np.median(d[ok])) <= 3 * max(s0, 1e-12))
        beta = solve(keep, yo)
        for _ in range(2):
            r = yo - Xo @ beta
            h = np.quantile(np.abs(r), 0.75)
            beta = solve(np.abs(r) <= h, yo)
    else:
        beta = solve(None, yo)
    r = yo - Xo @ beta
    s = mad0(r)
    for it in range(max_it):
        if rescale:
            s = mad0(r)
        if s <= 1e-12:
            break
        cs = c * s
        ystar = Xo @ beta + np.clip(r, -cs, cs)
        nb = solve(None, ystar)
        ch = np.sqrt(np.mean((Xo @ (nb - beta)) ** 2))
        beta = nb
        r = yo - Xo @ beta
        if ch <= tol * s:
            break
    fitted = X @ beta + off
    return fitted


def floored(r_obs, u_obs, scale, floor=0.3):
    lo = u_obs.min()
    if (u_obs == lo).sum() > 1 and floor > 0:
        above = r_obs[u_obs > lo]
        if len(above):
            return max(scale, floor * mad0(above))
    return scale


def local_scale(r_full, obs, W, fl, s_glob):
    rr = pd.Series(np.where(obs, r_full, np.nan))
    med = rr.rolling(W, center=True, min_periods=W // 3).median()
    ad = (rr - med).abs()
    s = K * ad.rolling(W, center=True, min_periods=W // 3).median().to_numpy()
    s = np.where(np.isfinite(s), s, s_glob)
    return np.maximum(s, fl * s_glob)


def run_series(it, cfg):
    """Returns (score over the span, rule flags over the span)."""
    y = it['values']
    dates = it['dates']
    obs = np.isfinite(y)
    tr = cfg.get('transform', 'none')
    if tr == 'none':
        u = np.where(obs, y, 0.0).astype(float)
        lamb = None
    elif tr.startswith('logc'):
        # scale-invariant log: u = log1p(y / c), c = share x median of the positive observed values
        c = float(tr[4:]) * np.median(y[obs & (np.nan_to_num(y) > 0)])
        y = np.where(obs, y / c, np.nan)
        lamb = 0.0
        u = np.where(obs, T(np.where(obs, y, 0), lamb), 0.0)
    else:
        lamb = 0.0 if tr == 'log1p' else (boxcox_lambda(y) if tr == 'auto' else float(tr))
        u = np.where(obs, T(np.where(obs, y, 0), lamb), 0.0)
    X, lam = design(dates, obs)
    fitted = fit(u, obs, X, lam, start=cfg.get('start', 'ls'), rescale=cfg.get('rescale', False),
                 c=cfg.get('huber_c', 2.0))
    r = u - fitted
    s = mad0(r[obs])
    s = floored(r[obs], u[obs], s, cfg.get('scale_floor', 0.3))
    s = max(s, 1e-9 * (np.ptp(u[obs]) + 1e-12))
    scale = np.full(len(y), s)
    W = cfg.get('local', 0)
    if W:
        scale = local_scale(r, obs, W, cfg.get('local_floor', 0.5), s)
        if cfg.get('local_cap', 0):
            scale = np.minimum(scale, cfg['local_cap'] * s)
    if cfg.get('wd', False):
        dow = dates.dayofweek.to_numpy()
        rel = r / scale
        g = mad0(rel[obs])
        fac = np.ones(7)
        for d in range(7):
            m = obs & (dow == d)
            if m.sum() >= 8 and g > 0:
                fac[d] = np.clip(mad0(rel[m]) / g, 0.5, 2.0)
        scale = scale * fac[dow]
    nonneg = np.nanmin(y) >= 0
    expected = np.maximum(fitted, 0.0) if nonneg else fitted  # T(0) = 0 for both none and Box-Cox(y+1)
    score = np.where(obs, np.abs(u - expected) / scale, np.nan)
    if cfg.get('run'):
        # sustained-deviation score: |mean of the standardised residuals over w days| x sqrt(w) x run_k
        zr = pd.Series(np.where(obs, (u - expected) / scale, np.nan))
        for w in cfg['run']:
            m = zr.rolling(w, center=True, min_periods=max(2, (2 * w) // 3)).mean().to_numpy()
            rs = np.abs(m) * np.sqrt(w) * cfg.get('run_k', 1.0)
            score = np.where(obs, np.fmax(score, rs), np.nan)
    yo_ = y[obs]
    if cfg.get('count', False) and np.mean(yo_ == np.round(yo_)) >= 0.95:
        # count band: in original units mu = T^-1(expected); flag only if outside the Poisson band too
        mu = inv(expected, lamb)
        score = count_adjust(score, y, mu, obs)
    rr = rules(y, cfg)
    if cfg.get('unit'):
        # unit-error rule: the value is >= unit x the expected level, or positive and <= expected / unit
        lev = np.maximum(inv(expected, lamb), 1.0)
        rr = rr | (obs & ((np.nan_to_num(y) >= cfg['unit'] * lev) | ((np.nan_to_num(y) > 0) & (np.nan_to_num(y) * cfg['unit'] <= lev))))
    if cfg.get('zerorun'):
        # zero-run rule: >= zerorun consecutive observed zeros after 8 weeks with >= 90% non-zero observed days
        k = cfg['zerorun']
        rr |= zero_run_flags(np.nan_to_num(y), obs, k)
    return score, rr


def inv(u, lamb):
    if lamb is None:
        return np.maximum(u, 0)
    if lamb == 0:
        return np.maximum(np.expm1(u), 0)
    return np.maximum((np.maximum(lamb * u + 1, 0)) ** (1 / lamb) - 1, 0)


def count_adjust(score, y, mu, obs):
    """Poisson score in normal units: z_p = Phi^-1 of the tail probability of y under Poisson(mu); the final
    score is min(score, z_p) (a point must be outside both bands)."""
    from scipy import stats  # only this option needs scipy
    yy = np.where(obs, np.round(y), 0)
    m = np.maximum(mu, 1e-3)
    up = stats.poisson.sf(yy - 1, m)   # P(Y >= y)
    dn = stats.poisson.cdf(yy, m)      # P(Y <= y)
    p = np.minimum(np.minimum(up, dn) * 2, 1.0)
    zp = stats.norm.isf(np.maximum(p, 1e-300) / 2)
    return np.where(obs, np.minimum(score, zp), np.nan)


def rules(y, cfg):
    n = len(y)
    out = np.zeros(n, bool)
    obs = np.isfinite(y)
    L0 = cfg.get('stuck', 0)
    if L0:
        # runs of identical non-zero observed values; adaptive length from the chance of equal neighbours
        eq = obs[1:] & obs[:-1] & (y[1:] == y[:-1]) & (y[1:] != 0)
        p_eq = max(eq.mean(), 1e-4)
        L = max(L0, int(np.ceil(1 + np.log(0.01 / n) / np.log(p_eq)))) if p_eq < 1 else n + 1
        run = 1
        for i in range(1, n):
            if eq[i - 1]:
                run += 1
                if run >= L:
                    out[i - run + 1 if run == L else i: i + 1] = True
            else:
                run = 1
    K0 = cfg.get('stopped', 0)
    if K0:
        mode = cfg.get('stopped_mode', 'trailing')
        i = 0
        while i < n:
            if not obs[i]:
                j = i
                while j < n and not obs[j]:
                    j += 1
                if j - i >= K0 and i >= 56 and obs[i - 56:i].mean() >= 0.9 and (mode == 'any' or j == n):
                    out[i + K0 - 1:j] = True
                i = j
            else:
                i += 1
    return out


def run_config(items, cfg):
    return {it['id']: run_series(it, cfg) for it in items}


def model_free_rules(y, stuck=4, stopped=7, zerorun=3, unit=100):
    """The rules without a model (for the peers): stuck, stopped, zero run, and the unit rule against a 29-day
    centred rolling median of the observed values as the level."""
    cfg = {'stuck': stuck, 'stopped': stopped}
    rr = rules(y, cfg)
    obs = np.isfinite(y)
    yy = np.nan_to_num(y)
    lev = np.maximum(np.nan_to_num(pd.Series(y).rolling(29, center=True, min_periods=8).median().to_numpy(), nan=1.0), 1.0)
    rr |= obs & ((yy >= unit * lev) | ((yy > 0) & (yy * unit <= lev)))
    rr |= zero_run_flags(yy, obs, zerorun)
    return rr
