//! Coordinates at the edge: everything Minsheng stores is WGS-84, and an input in GCJ-02 or
//! BD-09 is converted once, where it arrives. The conversions are the `coordtransform`
//! crate's (its refined inverse is within millimetres); outside mainland China (Hong Kong,
//! Macau, Taiwan, abroad) no offset applies and the crate returns the point unchanged.

use crate::enums::CoordSystem;

/// `(lat, lng)` in `from`, as WGS-84.
pub fn to_wgs84(from: CoordSystem, lat: f64, lng: f64) -> (f64, f64) {
    if !lat.is_finite() || !lng.is_finite() {
        return (lat, lng);
    }
    let (lng, lat) = match from {
        CoordSystem::Wgs84 => (lng, lat),
        CoordSystem::Gcj02 => coordtransform::gcj02_to_wgs84(lng, lat),
        CoordSystem::Bd09 => coordtransform::bd09_to_wgs84(lng, lat),
    };
    (lat, lng)
}

/// A stored WGS-84 `(lat, lng)`, in `to`.
pub fn from_wgs84(to: CoordSystem, lat: f64, lng: f64) -> (f64, f64) {
    if !lat.is_finite() || !lng.is_finite() {
        return (lat, lng);
    }
    let (lng, lat) = match to {
        CoordSystem::Wgs84 => (lng, lat),
        CoordSystem::Gcj02 => coordtransform::wgs84_to_gcj02(lng, lat),
        CoordSystem::Bd09 => coordtransform::wgs84_to_bd09(lng, lat),
    };
    (lat, lng)
}

/// [`to_wgs84`] for an optional pair (a lone `lat` or `lng` is left for validation to refuse).
pub fn opt_to_wgs84(
    from: Option<CoordSystem>,
    lat: Option<f64>,
    lng: Option<f64>,
) -> (Option<f64>, Option<f64>) {
    match (from.unwrap_or_default(), lat, lng) {
        (CoordSystem::Wgs84, lat, lng) => (lat, lng),
        (from, Some(lat), Some(lng)) => {
            let (a, b) = to_wgs84(from, lat, lng);
            (Some(a), Some(b))
        }
        (_, lat, lng) => (lat, lng),
    }
}

/// [`from_wgs84`] for an optional pair.
pub fn opt_from_wgs84(
    to: Option<CoordSystem>,
    lat: Option<f64>,
    lng: Option<f64>,
) -> (Option<f64>, Option<f64>) {
    match (to.unwrap_or_default(), lat, lng) {
        (CoordSystem::Wgs84, lat, lng) => (lat, lng),
        (to, Some(lat), Some(lng)) => {
            let (a, b) = from_wgs84(to, lat, lng);
            (Some(a), Some(b))
        }
        (_, lat, lng) => (lat, lng),
    }
}

/// A ring of `[lng, lat]` pairs (GeoJSON order) in `from`, as WGS-84.
pub fn ring_to_wgs84(from: CoordSystem, ring: &mut [Vec<f64>]) {
    if from == CoordSystem::Wgs84 {
        return;
    }
    for p in ring.iter_mut().filter(|p| p.len() >= 2) {
        let (lat, lng) = to_wgs84(from, p[1], p[0]);
        p[0] = lng;
        p[1] = lat;
    }
}

/// A WGS-84 ring of `[lng, lat]` pairs, in `to`.
pub fn ring_from_wgs84(to: CoordSystem, ring: &mut [Vec<f64>]) {
    if to == CoordSystem::Wgs84 {
        return;
    }
    for p in ring.iter_mut().filter(|p| p.len() >= 2) {
        let (lat, lng) = from_wgs84(to, p[1], p[0]);
        p[0] = lng;
        p[1] = lat;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visits::distance_m;

    /// 麒麟区, Qujing: the demo district.
    const QILIN: (f64, f64) = (25.4900, 103.7960);

    #[test]
    fn a_gcj02_point_in_qilin_moves_by_about_390_metres_and_comes_back() {
        let (glat, glng) = from_wgs84(CoordSystem::Gcj02, QILIN.0, QILIN.1);
        let d = distance_m(QILIN.0, QILIN.1, glat, glng);
        assert!((300.0..500.0).contains(&d), "offset {d} m");
        let (lat, lng) = to_wgs84(CoordSystem::Gcj02, glat, glng);
        assert!(distance_m(lat, lng, QILIN.0, QILIN.1) < 0.01);
    }

    #[test]
    fn a_bd09_point_comes_back_to_wgs84() {
        let (blat, blng) = from_wgs84(CoordSystem::Bd09, QILIN.0, QILIN.1);
        assert!(distance_m(QILIN.0, QILIN.1, blat, blng) > 500.0);
        let (lat, lng) = to_wgs84(CoordSystem::Bd09, blat, blng);
        assert!(distance_m(lat, lng, QILIN.0, QILIN.1) < 0.5);
    }

    #[test]
    fn outside_mainland_china_no_offset_applies() {
        for (lat, lng) in [(22.3193, 114.1694), (51.5007, -0.1246), (37.5665, 126.978)] {
            assert_eq!(to_wgs84(CoordSystem::Gcj02, lat, lng), (lat, lng));
            assert_eq!(from_wgs84(CoordSystem::Gcj02, lat, lng), (lat, lng));
        }
    }

    #[test]
    fn wgs84_and_absent_coordinates_pass_unchanged() {
        assert_eq!(
            opt_to_wgs84(None, Some(25.49), Some(103.79)),
            (Some(25.49), Some(103.79))
        );
        assert_eq!(
            opt_to_wgs84(Some(CoordSystem::Gcj02), None, Some(103.79)),
            (None, Some(103.79))
        );
    }
}
