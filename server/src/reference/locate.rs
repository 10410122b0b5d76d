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

/// The deepest area containing the point, or the single root area when none does.
pub fn locate(areas: &[AreaRow], lat: Option<f64>, lng: Option<f64>) -> Option<i64> {
    let found = match (lat, lng) {
        (Some(lat), Some(lng)) => areas
            .iter()
            .filter(|a| {
                a.boundary
                    .as_deref()
                    .and_then(|b| serde_json::from_str::<Vec<Vec<f64>>>(b).ok())
                    .is_some_and(|ring| contains(&ring, lng, lat))
            })
            .max_by_key(|a| a.path.len())
            .map(|a| a.id),
        _ => None,
    };
    found.or_else(|| {
        let mut roots = areas.iter().filter(|a| a.parent_id.is_none());
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
}
