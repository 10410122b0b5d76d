//! Which area a point lies in: the deepest area whose boundary contains it.

use crate::storage::AreaRow;

/// Ray casting over a ring of `[lng, lat]` pairs.
pub fn contains(ring: &[Vec<f64>], lng: f64, lat: f64) -> bool {
    let pts: Vec<(f64, f64)> = ring
        .iter()
        .filter(|p| p.len() >= 2)
        .map(|p| (p[0], p[1]))
        .collect();
    if pts.len() < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = pts.len() - 1;
    for i in 0..pts.len() {
        let (xi, yi) = pts[i];
        let (xj, yj) = pts[j];
        if (yi > lat) != (yj > lat) && lng < (xj - xi) * (lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Whether a MultiPolygon (`[polygon][ring][point]`) holds the point: inside some
/// polygon's outline and in none of that polygon's holes.
pub fn multi_contains(shape: &[Vec<Vec<Vec<f64>>>], lng: f64, lat: f64) -> bool {
    shape.iter().any(|poly| {
        poly.first().is_some_and(|outer| contains(outer, lng, lat))
            && !poly[1..].iter().any(|hole| contains(hole, lng, lat))
    })
}

/// An area's boundary as a MultiPolygon: its whole imported shape when it has one, else its
/// one ring as a single polygon.
pub fn parse_shape(a: &AreaRow) -> Option<Vec<Vec<Vec<Vec<f64>>>>> {
    if let Some(m) = a.boundary_multi.as_deref() {
        return serde_json::from_str(m).ok();
    }
    a.boundary
        .as_deref()
        .and_then(|b| serde_json::from_str::<Vec<Vec<f64>>>(b).ok())
        .map(|ring| vec![vec![ring]])
}

/// Whether an area's boundary holds the point (parsed once by `Db::areas`, else here).
pub fn area_contains(a: &AreaRow, lng: f64, lat: f64) -> bool {
    match &a.shape {
        Some(shape) => multi_contains(shape, lng, lat),
        None => parse_shape(a).is_some_and(|shape| multi_contains(&shape, lng, lat)),
    }
}

/// The deepest active area containing the point, or the single root area when none does.
/// Inactive areas (and everything under them) receive no new cases.
pub fn locate(areas: &[AreaRow], lat: Option<f64>, lng: Option<f64>) -> Option<i64> {
    let inactive: Vec<&str> = areas
        .iter()
        .filter(|a| !a.active)
        .map(|a| a.path.as_str())
        .collect();
    let found = match (lat, lng) {
        (Some(lat), Some(lng)) => areas
            .iter()
            .filter(|a| !inactive.iter().any(|p| a.path.starts_with(p)))
            .filter(|a| area_contains(a, lng, lat))
            .max_by_key(|a| a.path.len())
            .map(|a| a.id),
        _ => None,
    };
    found.or_else(|| {
        let mut roots = areas.iter().filter(|a| a.parent_id.is_none() && a.active);
        match (roots.next(), roots.next()) {
            (Some(root), None) => Some(root.id),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_inside_a_square_is_inside() {
        let sq = vec![
            vec![0.0, 0.0],
            vec![1.0, 0.0],
            vec![1.0, 1.0],
            vec![0.0, 1.0],
        ];
        assert!(contains(&sq, 0.5, 0.5));
        assert!(!contains(&sq, 1.5, 0.5));
    }

    fn square(x: f64, y: f64, size: f64) -> Vec<Vec<f64>> {
        vec![
            vec![x, y],
            vec![x + size, y],
            vec![x + size, y + size],
            vec![x, y + size],
        ]
    }

    #[test]
    fn a_point_in_the_second_polygon_or_a_hole_is_told_apart() {
        let shape = vec![
            vec![square(0.0, 0.0, 1.0)],
            vec![square(10.0, 10.0, 4.0), square(11.0, 11.0, 1.0)],
        ];
        assert!(multi_contains(&shape, 0.5, 0.5));
        assert!(multi_contains(&shape, 13.5, 13.5));
        assert!(!multi_contains(&shape, 11.5, 11.5), "inside the hole");
        assert!(!multi_contains(&shape, 5.0, 5.0));
    }
}
