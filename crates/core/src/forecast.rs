//! Daily forecasts by additive Holt-Winters with a damped trend and a weekly season (m = 7):
//! level, trend and seasonal components smoothed with α, β, γ and the trend damped by φ (so a
//! noisy slope cannot run away over a long horizon), all chosen from a fixed grid by the
//! smallest sum of squared one-step-ahead errors (deterministic, no random starts). The prediction
//! interval is the ETS(A,Ad,A) one of DOMAIN.md §3: ŷ ± z·√Var(h), Var(h) = σ²·(1 + Σ_{j=1}^{h−1}
//! c_j²), c_j = α(1 + β·(φ + … + φ^j)) + γ(1 − α)·[j mod 7 = 0], σ² the one-step residuals' mean
//! square. (The smoothing here is Holt-Winters' component form; in the error-correction form the
//! formula is written in, its trend and seasonal weights are αβ and γ(1 − α).) Lower bounds are
//! clipped at 0 because spend, conversions and revenue cannot be negative. Series shorter than
//! two weeks fall back to their mean, with the interval of a new draw around it:
//! ŷ ± z·s·√(1 + 1/n).

/// A fitted model's forecast for `horizon` days.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub point: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// `holt_winters(α, β, γ)` or `mean`.
    pub method: String,
}

const SEASON: usize = 7;
const ALPHAS: [f64; 5] = [0.05, 0.1, 0.2, 0.4, 0.6];
const BETAS: [f64; 3] = [0.0, 0.02, 0.05];
const PHIS: [f64; 3] = [0.8, 0.9, 0.98];
const GAMMAS: [f64; 3] = [0.05, 0.15, 0.3];

/// The z of a two-sided normal interval with coverage `p` (0.5 to 0.999), by Acklam's rational
/// approximation of the inverse normal CDF.
pub fn z_for(p: f64) -> f64 {
    let q = 0.5 + p.clamp(0.5, 0.999) / 2.0;
    // Coefficients for the central region (|q - 0.5| <= 0.425 covers every p used here but the
    // extreme tail, handled by the tail formula).
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.38357751867269e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    if q > 0.97575 {
        let r = (-2.0 * (1.0 - q).ln()).sqrt();
        -(((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    } else {
        let x = q - 0.5;
        let r = x * x;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * x
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

struct Fit {
    sse: f64,
    n: usize,
    level: f64,
    trend: f64,
    season: [f64; SEASON],
    /// Index (0..7) of the season slot of the next day.
    next_slot: usize,
}

#[derive(Debug, Clone, Copy)]
struct Params {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
}

fn fit(y: &[f64], p: Params) -> Fit {
    let Params {
        alpha,
        beta,
        gamma,
        phi,
    } = p;
    // From the first two weeks: level, the second week's mean; trend, the change between the
    // weeks' means per day; seasonal, each weekday's mean deviation. Smoothing starts after them.
    let first: f64 = y[..SEASON].iter().sum::<f64>() / SEASON as f64;
    let second: f64 = y[SEASON..2 * SEASON].iter().sum::<f64>() / SEASON as f64;
    let mut level = second;
    let mut trend = (second - first) / SEASON as f64;
    let mut season = [0.0; SEASON];
    for (k, s) in season.iter_mut().enumerate() {
        *s = (y[k] - first + y[k + SEASON] - second) / 2.0;
    }
    let (mut sse, mut n) = (0.0, 0);
    for (t, &v) in y.iter().enumerate().skip(2 * SEASON) {
        let slot = t % SEASON;
        let predicted = level + phi * trend + season[slot];
        sse += (v - predicted).powi(2);
        n += 1;
        let previous = level;
        level = alpha * (v - season[slot]) + (1.0 - alpha) * (level + phi * trend);
        trend = beta * (level - previous) + (1.0 - beta) * phi * trend;
        season[slot] = gamma * (v - level) + (1.0 - gamma) * season[slot];
    }
    Fit {
        sse,
        n,
        level,
        trend,
        season,
        next_slot: y.len() % SEASON,
    }
}

/// The forecast variance h = 1, 2, … steps ahead, over σ², of an ETS(A,Ad,A) model whose
/// component-form smoothing weights are `p` (season `SEASON`).
fn variance_factors(p: Params, horizon: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(horizon);
    let (mut total, mut damped, mut power) = (1.0, 0.0, 1.0);
    for h in 1..=horizon {
        out.push(total);
        // c_j for j = h, used from step h + 1 on.
        power *= p.phi;
        damped += power;
        let seasonal = if h % SEASON == 0 {
            p.gamma * (1.0 - p.alpha)
        } else {
            0.0
        };
        let c = p.alpha * (1.0 + p.beta * damped) + seasonal;
        total += c * c;
    }
    out
}

/// `point` ± z·σ·√factor per step.
fn interval(
    point: Vec<f64>,
    sigma: f64,
    factors: &[f64],
    coverage: f64,
    method: String,
) -> Forecast {
    let z = z_for(coverage);
    let half = |h: usize| z * sigma * factors[h].sqrt();
    let lower = point
        .iter()
        .enumerate()
        .map(|(h, p)| (p - half(h)).max(0.0))
        .collect();
    let upper = point.iter().enumerate().map(|(h, p)| p + half(h)).collect();
    Forecast {
        point: point.into_iter().map(|p| p.max(0.0)).collect(),
        lower,
        upper,
        method,
    }
}

/// Forecasts `horizon` days after the daily series `y` (oldest first, no gaps).
pub fn forecast(y: &[f64], horizon: usize, coverage: f64) -> Forecast {
    if y.len() < 2 * SEASON {
        let mean = if y.is_empty() {
            0.0
        } else {
            y.iter().sum::<f64>() / y.len() as f64
        };
        let sigma = if y.len() > 1 {
            (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (y.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        let factor = 1.0 + 1.0 / y.len().max(1) as f64;
        return interval(
            vec![mean; horizon],
            sigma,
            &vec![factor; horizon],
            coverage,
            "mean".into(),
        );
    }
    let mut best: Option<(Fit, Params)> = None;
    for alpha in ALPHAS {
        for beta in BETAS {
            for gamma in GAMMAS {
                for phi in PHIS {
                    let p = Params {
                        alpha,
                        beta,
                        gamma,
                        phi,
                    };
                    let f = fit(y, p);
                    if best.as_ref().is_none_or(|(bf, _)| f.sse < bf.sse) {
                        best = Some((f, p));
                    }
                }
            }
        }
    }
    let Some((f, p)) = best else {
        return interval(
            vec![0.0; horizon],
            0.0,
            &vec![1.0; horizon],
            coverage,
            "mean".into(),
        );
    };
    let mut damped = 0.0;
    let point: Vec<f64> = (1..=horizon)
        .map(|h| {
            damped += p.phi.powi(h as i32);
            f.level + damped * f.trend + f.season[(f.next_slot + h - 1) % SEASON]
        })
        .collect();
    let sigma = (f.sse / f.n.max(1) as f64).sqrt();
    interval(
        point,
        sigma,
        &variance_factors(p, horizon),
        coverage,
        format!(
            "holt_winters(alpha={}, beta={}, gamma={}, phi={})",
            p.alpha, p.beta, p.gamma, p.phi
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weekly_pattern_is_carried_forward() {
        // Four weeks of Mon..Sun = 10, 10, 10, 10, 10, 2, 2: the forecast keeps the weekend dip.
        let week = [10.0, 10.0, 10.0, 10.0, 10.0, 2.0, 2.0];
        let y: Vec<f64> = week.iter().cycle().take(28).copied().collect();
        let f = forecast(&y, 7, 0.95);
        for (p, w) in f.point.iter().zip(week) {
            assert!((p - w).abs() < 1e-9, "{:?}", f.point);
        }
        // A perfect fit has no residuals: the interval collapses onto the forecast.
        assert_eq!(f.lower, f.point);
        assert!(f.method.starts_with("holt_winters"));
    }

    #[test]
    fn a_trend_continues_and_the_interval_widens() {
        let y: Vec<f64> = (0..42)
            .map(|t| 100.0 + 2.0 * t as f64 + if t % 3 == 0 { 5.0 } else { -2.5 })
            .collect();
        let f = forecast(&y, 14, 0.95);
        assert!(f.point[13] > f.point[0], "{:?}", f.point);
        let width = |h: usize| f.upper[h] - f.lower[h];
        assert!(width(13) > width(0));
        assert!(f.point.iter().zip(&f.lower).all(|(p, l)| l <= p));
    }

    #[test]
    fn short_series_use_the_mean_and_never_go_negative() {
        let f = forecast(&[1.0, 0.0, 2.0], 3, 0.95);
        assert_eq!(f.method, "mean");
        assert_eq!(f.point, vec![1.0; 3]);
        assert!(f.lower.iter().all(|l| *l == 0.0));
    }

    #[test]
    fn the_variance_follows_the_ets_formula() {
        let p = Params {
            alpha: 0.2,
            beta: 0.05,
            gamma: 0.3,
            phi: 0.9,
        };
        let v = variance_factors(p, 9);
        // By hand: c_1 = 0.2 (1 + 0.05 x 0.9) = 0.209; c_2 = 0.2 (1 + 0.05 x 1.71) = 0.2171;
        // c_7 adds the season's 0.3 x 0.8 = 0.24.
        assert_eq!(v[0], 1.0);
        assert!((v[1] - (1.0 + 0.209f64.powi(2))).abs() < 1e-12);
        assert!((v[2] - (1.0 + 0.209f64.powi(2) + 0.2171f64.powi(2))).abs() < 1e-12);
        let damped7: f64 = (1..=7).map(|j| 0.9f64.powi(j)).sum();
        let c7 = 0.2 * (1.0 + 0.05 * damped7) + 0.24;
        let damped6: f64 = (1..=6).map(|j| 0.9f64.powi(j)).sum();
        let c6 = 0.2 * (1.0 + 0.05 * damped6);
        assert!((v[7] - v[6] - c7 * c7).abs() < 1e-12);
        assert!((v[6] - v[5] - c6 * c6).abs() < 1e-12);
    }

    /// A standard normal draw (Box-Muller).
    fn normal(rng: &mut crate::rng::SplitMix64) -> f64 {
        let u = rng.unit().max(1e-300);
        let v = rng.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    #[test]
    fn the_95_percent_interval_covers_95_percent_of_held_out_days() {
        // Series simulated from a known ETS(A,Ad,A) process (error-correction form: trend and
        // seasonal weights alpha*beta and gamma*(1 - alpha)), 140 days fitted, 30 held out.
        let (alpha, beta, gamma, phi, sigma) = (0.2, 0.05, 0.15, 0.9, 4.0);
        let mut rng = crate::rng::SplitMix64::new(2024);
        let (mut inside, mut total) = (0usize, 0usize);
        for _ in 0..300 {
            let mut level = 200.0;
            let mut trend = 0.5;
            let mut season: Vec<f64> = (0..SEASON)
                .map(|k| 10.0 * (k as f64 * 2.0 * std::f64::consts::PI / 7.0).sin())
                .collect();
            let y: Vec<f64> = (0..170)
                .map(|t| {
                    let e = sigma * normal(&mut rng);
                    let slot = t % SEASON;
                    let v = level + phi * trend + season[slot] + e;
                    level += phi * trend + alpha * e;
                    trend = phi * trend + alpha * beta * e;
                    season[slot] += gamma * (1.0 - alpha) * e;
                    v
                })
                .collect();
            let f = forecast(&y[..140], 30, 0.95);
            for (h, actual) in y[140..].iter().enumerate() {
                total += 1;
                if (f.lower[h]..=f.upper[h]).contains(actual) {
                    inside += 1;
                }
            }
        }
        let coverage = inside as f64 / total as f64;
        assert!(
            (0.93..=0.97).contains(&coverage),
            "coverage {coverage:.4} over {total} held-out days"
        );
    }

    #[test]
    fn z_matches_the_normal_table() {
        assert!((z_for(0.95) - 1.959964).abs() < 1e-5);
        assert!((z_for(0.8) - 1.281552).abs() < 1e-5);
        assert!((z_for(0.99) - 2.575829).abs() < 1e-5);
    }
}
