//! Area boundaries from a GIS office's GeoJSON: which feature names which area, and the
//! shapes stored (the whole MultiPolygon, and the outline of its largest polygon for the
//! clients that draw one ring).

use std::collections::{HashMap, HashSet};

use minsheng_model::{
    AreaLevel, AreaRef, BoundaryFeature, CoordSystem, MultiPolygon, coords, validate,
};

use crate::storage::AreaRow;

/// Why the body is not a FeatureCollection at all (422 `invalid_geojson`).
#[derive(Debug)]
pub struct NotAFeatureCollection;

/// One usable feature: its area and its shape in WGS-84.
pub struct Matched {
    pub area_id: i64,
    pub shape: MultiPolygon,
}

/// Reads a FeatureCollection against the areas: per feature, the area its `code_property`
/// names or why it cannot be used, with the usable ones' shapes converted from `from`.
pub fn read(
    geojson: serde_json::Value,
    code_property: &str,
    from: Option<CoordSystem>,
    areas: &[AreaRow],
) -> Result<(Vec<BoundaryFeature>, Vec<Matched>), NotAFeatureCollection> {
    let fc = match geojson::GeoJson::from_json_value(geojson) {
        Ok(geojson::GeoJson::FeatureCollection(fc)) => fc,
        _ => return Err(NotAFeatureCollection),
    };
    let by_code: HashMap<&str, &AreaRow> = areas.iter().map(|a| (a.code.as_str(), a)).collect();
    let mut seen = HashSet::new();
    let mut report = Vec::new();
    let mut matched = Vec::new();
    for (i, f) in fc.features.into_iter().enumerate() {
        let code = f
            .properties
            .as_ref()
            .and_then(|p| p.get(code_property))
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.trim().to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty());
        let area = code.as_deref().and_then(|c| by_code.get(c).copied());
        let shape = f.geometry.and_then(|g| shape(g.value, from));
        let reason = match (&code, area, &shape) {
            (None, _, _) => Some("missing_code"),
            (Some(_), None, _) => Some("unknown_code"),
            (_, _, None) => Some("bad_geometry"),
            (_, Some(a), Some(_)) if !seen.insert(a.id) => Some("duplicate_code"),
            _ => None,
        };
        if let (None, Some(a), Some(s)) = (reason, area, &shape) {
            matched.push(Matched {
                area_id: a.id,
                shape: s.clone(),
            });
        }
        report.push(BoundaryFeature {
            index: i as i64,
            code,
            area_id: area.map(|a| a.id),
            area_name: area.map(|a| a.name.clone()),
            reason: reason.map(str::to_string),
            boundaries: shape,
        });
    }
    Ok((report, matched))
}

/// Active areas without a boundary once `matched` is stored.
pub fn missing(areas: &[AreaRow], matched: &[Matched]) -> Vec<AreaRef> {
    let got: HashSet<i64> = matched.iter().map(|m| m.area_id).collect();
    areas
        .iter()
        .filter(|a| a.active && a.boundary.is_none() && !got.contains(&a.id))
        .map(|a| AreaRef {
            id: a.id,
            code: a.code.clone(),
            name: a.name.clone(),
            level: AreaLevel::parse(&a.level).unwrap_or(AreaLevel::Grid),
        })
        .collect()
}

/// A Polygon or MultiPolygon as a MultiPolygon in WGS-84, when every ring is a closed or
/// closable ring of at least three valid points; anything else is a bad geometry.
fn shape(v: geojson::Value, from: Option<CoordSystem>) -> Option<MultiPolygon> {
    let mut polys = match v {
        geojson::Value::Polygon(p) => vec![p],
        geojson::Value::MultiPolygon(m) => m,
        _ => return None,
    };
    if polys.is_empty() {
        return None;
    }
    for poly in &mut polys {
        if poly.is_empty() {
            return None;
        }
        for ring in poly.iter_mut() {
            if ring
                .iter()
                .any(|p| p.len() < 2 || validate::location(Some(p[1]), Some(p[0])).is_err())
            {
                return None;
            }
            for p in ring.iter_mut() {
                p.truncate(2);
            }
            if ring.first() == ring.last() && ring.len() > 1 {
                ring.pop();
            }
            if ring.len() < 3 {
                return None;
            }
            if let Some(from) = from.filter(|c| *c != CoordSystem::Wgs84) {
                coords::ring_to_wgs84(from, ring);
            }
        }
    }
    Some(polys)
}

/// The outline of the largest polygon (by the shoelace area of its outer ring).
pub fn outline(shape: &MultiPolygon) -> Vec<Vec<f64>> {
    shape
        .iter()
        .filter_map(|p| p.first())
        .max_by(|a, b| ring_area(a).total_cmp(&ring_area(b)))
        .cloned()
        .unwrap_or_default()
}

fn ring_area(ring: &[Vec<f64>]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (&ring[i], &ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        .abs()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(id: i64, code: &str) -> AreaRow {
        AreaRow {
            id,
            parent_id: None,
            level: "community".into(),
            code: code.into(),
            name: format!("社区{id}"),
            name_en: None,
            path: format!("/{id}/"),
            lat: None,
            lng: None,
            boundary: None,
            boundary_multi: None,
            active: true,
            shape: None,
        }
    }

    #[test]
    fn each_feature_is_matched_by_its_code_or_told_why_not() {
        let areas = [area(1, "530302001"), area(2, "C2"), area(3, "C3")];
        let square = serde_json::json!([[
            [103.0, 25.0],
            [103.1, 25.0],
            [103.1, 25.1],
            [103.0, 25.1],
            [103.0, 25.0]
        ]]);
        let fc = serde_json::json!({ "type": "FeatureCollection", "features": [
            // A code given as a number matches its text.
            { "type": "Feature", "properties": { "code": 530302001 }, "geometry": { "type": "Polygon", "coordinates": square } },
            { "type": "Feature", "properties": { "code": "C2" }, "geometry": { "type": "Polygon", "coordinates": [[[103.0, 25.0], [103.1, 25.0]]] } },
            { "type": "Feature", "properties": { "name": "无编码" }, "geometry": { "type": "Polygon", "coordinates": square } },
            { "type": "Feature", "properties": { "code": "530302001" }, "geometry": { "type": "Polygon", "coordinates": square } },
            { "type": "Feature", "properties": { "code": "C3" }, "geometry": { "type": "Polygon", "coordinates": [[[200.0, 25.0], [103.1, 25.0], [103.1, 25.1]]] } },
            { "type": "Feature", "properties": { "code": "C2" }, "geometry": null },
        ]});
        let (report, matched) = read(fc, "code", None, &areas).unwrap();
        let reasons: Vec<Option<&str>> = report.iter().map(|f| f.reason.as_deref()).collect();
        assert_eq!(
            reasons,
            [
                None,
                Some("bad_geometry"),
                Some("missing_code"),
                Some("duplicate_code"),
                Some("bad_geometry"),
                Some("bad_geometry"),
            ]
        );
        assert_eq!(matched.len(), 1);
        assert_eq!(matched[0].area_id, 1);
        assert_eq!(
            matched[0].shape[0][0].len(),
            4,
            "the closing point is dropped"
        );
        let missing: Vec<i64> = missing(&areas, &matched).iter().map(|a| a.id).collect();
        assert_eq!(missing, [2, 3]);
        assert!(
            read(
                serde_json::json!({ "type": "Point", "coordinates": [1.0, 2.0] }),
                "code",
                None,
                &areas
            )
            .is_err()
        );
    }

    #[test]
    fn the_outline_is_the_largest_polygons_outer_ring() {
        let small = vec![vec![vec![0.0, 0.0], vec![1.0, 0.0], vec![1.0, 1.0]]];
        let big = vec![vec![
            vec![5.0, 5.0],
            vec![9.0, 5.0],
            vec![9.0, 9.0],
            vec![5.0, 9.0],
        ]];
        assert_eq!(outline(&vec![small, big.clone()]), big[0]);
    }
}
