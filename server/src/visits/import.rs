//! Households from the spreadsheet a community already keeps: CSV (UTF-8, or GB18030 as
//! Excel saves it on Chinese Windows) or XLSX. Every bad row is reported with its row number
//! and reason; a file with any bad row stores nothing.

use std::collections::HashMap;

use minsheng_model::CoordSystem;
use minsheng_model::visits::{ImportRowError, limits};

use crate::storage::{AreaRow, HouseholdRecord, UserRow};

/// The columns we read, each with the header names it goes by.
const COLUMNS: &[(&str, &[&str])] = &[
    (
        "address",
        &["地址", "住址", "门牌地址", "家庭住址", "address"],
    ),
    (
        "grid",
        &["网格", "网格编码", "所属网格", "grid", "area", "area_code"],
    ),
    (
        "head_name",
        &["户主", "户主姓名", "姓名", "head", "head_name", "name"],
    ),
    ("phone", &["电话", "联系电话", "手机", "手机号", "phone"]),
    ("members", &["人口", "家庭人口", "人数", "members"]),
    ("tags", &["标签", "户类型", "人员类别", "tags"]),
    ("lat", &["纬度", "lat", "latitude"]),
    ("lng", &["经度", "lng", "lon", "longitude"]),
    ("responsible", &["包保责任人", "责任人", "responsible"]),
    (
        "coord_system",
        &["坐标系", "坐标系统", "coord_system", "coordinate system"],
    ),
];

/// A `坐标系` cell: `wgs84`, `gcj02`, `bd09` (any case, with or without a hyphen) or their
/// common Chinese names.
fn coord_system_cell(s: &str) -> Option<CoordSystem> {
    let s = s.trim().to_lowercase().replace(['-', '_', ' '], "");
    match s.as_str() {
        "wgs84" | "gps" | "cgcs2000" => Some(CoordSystem::Wgs84),
        "gcj02" | "火星坐标" | "火星坐标系" | "国测局坐标" | "腾讯" | "高德" => {
            Some(CoordSystem::Gcj02)
        }
        "bd09" | "bd09ll" | "百度" | "百度坐标" => Some(CoordSystem::Bd09),
        _ => None,
    }
}

/// The Chinese header of a column, for error messages.
fn column_zh(key: &str) -> &'static str {
    COLUMNS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, names)| names[0])
        .unwrap_or("")
}

/// A sheet: each row with its spreadsheet row number (the header is row 1).
pub struct Sheet {
    pub rows: Vec<(i64, Vec<String>)>,
}

fn row_error(row: i64, column: Option<&str>, reason: impl Into<String>) -> ImportRowError {
    ImportRowError {
        row,
        column: column.map(|c| column_zh(c).to_string()),
        reason: reason.into(),
    }
}

/// Reads CSV or XLSX (decided by the bytes: XLSX is a zip archive).
pub fn read_sheet(bytes: &[u8]) -> Result<Sheet, ImportRowError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else {
        read_csv(bytes)
    }
}

/// Reads the first sheet cell by cell, refusing it before loading anything when its used
/// range (the sheet's `<dimension>`) is larger than an import may be, and at the first cell
/// outside the limits when the sheet says nothing or understates it: a file of a few
/// kilobytes can declare a cell at row 1,000,000, and loading it whole would make a grid of
/// every cell up to there.
fn read_xlsx(bytes: &[u8]) -> Result<Sheet, ImportRowError> {
    use calamine::{Data, Reader, Xlsx};
    let bad = || row_error(0, None, "无法读取 Excel 文件");
    let too_big = |rows: u64, cols: u64| {
        row_error(
            0,
            None,
            format!(
                "工作表范围过大({rows} 行 × {cols} 列),最多 {} 行 × {} 列",
                limits::IMPORT_SHEET_ROWS_MAX,
                limits::IMPORT_SHEET_COLUMNS_MAX
            ),
        )
    };
    let mut wb: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|_| bad())?;
    let name = wb
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| row_error(0, None, "Excel 文件没有工作表"))?;
    let mut cells = wb.worksheet_cells_reader(&name).map_err(|_| bad())?;
    let d = cells.dimensions();
    let (rows, cols) = (
        u64::from(d.end.0.saturating_sub(d.start.0)) + 1,
        u64::from(d.end.1.saturating_sub(d.start.1)) + 1,
    );
    if rows > u64::from(limits::IMPORT_SHEET_ROWS_MAX)
        || cols > u64::from(limits::IMPORT_SHEET_COLUMNS_MAX)
    {
        return Err(too_big(rows, cols));
    }
    // (row, column, text) of every non-empty cell, positions from 0.
    let mut found: Vec<(u32, u32, String)> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(|_| bad())? {
        let (r, c) = cell.get_position();
        if r >= limits::IMPORT_SHEET_ROWS_MAX || c >= limits::IMPORT_SHEET_COLUMNS_MAX {
            return Err(too_big(u64::from(r) + 1, u64::from(c) + 1));
        }
        let text = Data::from(cell.get_value().clone()).to_string();
        let text = text.trim();
        if !text.is_empty() {
            found.push((r, c, text.to_string()));
        }
    }
    let Some(first_row) = found.iter().map(|(r, _, _)| *r).min() else {
        return Ok(Sheet { rows: Vec::new() });
    };
    let first_col = found.iter().map(|(_, c, _)| *c).min().unwrap_or(0);
    let last_row = found.iter().map(|(r, _, _)| *r).max().unwrap_or(first_row);
    let width = found
        .iter()
        .map(|(_, c, _)| (c - first_col) as usize + 1)
        .max()
        .unwrap_or(0);
    let mut grid: Vec<(i64, Vec<String>)> = (first_row..=last_row)
        .map(|r| (i64::from(r) + 1, vec![String::new(); width]))
        .collect();
    for (r, c, text) in found {
        grid[(r - first_row) as usize].1[(c - first_col) as usize] = text;
    }
    Ok(Sheet { rows: grid })
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, ImportRowError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text: std::borrow::Cow<str> = match std::str::from_utf8(bytes) {
        Ok(t) => t.into(),
        Err(_) => {
            let (t, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(row_error(
                    0,
                    None,
                    "文件编码无法识别,请另存为 UTF-8 CSV 或 XLSX",
                ));
            }
            t.into_owned().into()
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(i as u64 + 1, |p| p.line());
            row_error(line as i64, None, "CSV 格式错误")
        })?;
        // The line the record starts on, as an editor shows it: blank lines and quoted
        // line breaks before it count (the csv reader skips the former).
        let line = rec.position().map_or(i as u64 + 1, |p| p.line());
        rows.push((
            line as i64,
            rec.iter().map(|c| c.trim().to_string()).collect(),
        ));
    }
    Ok(Sheet { rows })
}

/// Checks every row against the area tree and the users, returning the households to store
/// (their points converted from `coord_system`, or a row's own `坐标系`, to WGS-84) or every
/// bad row.
pub fn check(
    sheet: &Sheet,
    areas: &[AreaRow],
    users: &[UserRow],
    coord_system: CoordSystem,
) -> Result<Vec<HouseholdRecord>, Vec<ImportRowError>> {
    let mut rows = sheet
        .rows
        .iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()));
    let Some((header_row, header)) = rows.next() else {
        return Err(vec![row_error(1, None, "文件为空")]);
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().to_lowercase();
        if let Some((key, _)) = COLUMNS
            .iter()
            .find(|(_, names)| names.contains(&h.as_str()))
        {
            index.entry(*key).or_insert(i);
        }
    }
    let missing: Vec<ImportRowError> = ["address", "grid"]
        .iter()
        .filter(|k| !index.contains_key(*k))
        .map(|k| row_error(*header_row, Some(k), format!("缺少「{}」列", column_zh(k))))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let cell = |cells: &[String], key: &str| -> String {
        index
            .get(key)
            .and_then(|i| cells.get(*i))
            .cloned()
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut seen: HashMap<(i64, String), i64> = HashMap::new();
    let mut count = 0usize;
    for (row, cells) in rows {
        count += 1;
        if count > limits::IMPORT_ROWS_MAX {
            errors.push(row_error(
                *row,
                None,
                format!("一次最多导入 {} 户", limits::IMPORT_ROWS_MAX),
            ));
            break;
        }
        let grid = cell(cells, "grid");
        let area = if grid.is_empty() {
            errors.push(row_error(*row, Some("grid"), "必填"));
            None
        } else {
            let by_code: Vec<&AreaRow> = areas.iter().filter(|a| a.code == grid).collect();
            let found = if by_code.len() == 1 {
                by_code
            } else {
                areas.iter().filter(|a| a.name == grid).collect()
            };
            match found.as_slice() {
                [a] if a.level == "grid" || a.level == "community" => Some(*a),
                [_] => {
                    errors.push(row_error(
                        *row,
                        Some("grid"),
                        format!("「{grid}」不是网格或社区"),
                    ));
                    None
                }
                [] => {
                    errors.push(row_error(
                        *row,
                        Some("grid"),
                        format!("没有名为「{grid}」的网格"),
                    ));
                    None
                }
                _ => {
                    errors.push(row_error(
                        *row,
                        Some("grid"),
                        format!("「{grid}」有重名,请填写网格编码"),
                    ));
                    None
                }
            }
        };
        let responsible = match cell(cells, "responsible") {
            u if u.is_empty() => Ok(None),
            u => match users
                .iter()
                .find(|x| x.username.as_deref() == Some(u.as_str()) || x.display_name == u)
            {
                Some(x) if x.active && x.role != "resident" => Ok(Some(x.id)),
                _ => Err(row_error(
                    *row,
                    Some("responsible"),
                    format!("没有名为「{u}」的工作人员"),
                )),
            },
        };
        let fields = minsheng_model::visits::household(
            &cell(cells, "address"),
            &cell(cells, "head_name"),
            &cell(cells, "phone"),
            &cell(cells, "members"),
            &cell(cells, "tags"),
            &cell(cells, "lat"),
            &cell(cells, "lng"),
        );
        let system = match cell(cells, "coord_system") {
            c if c.is_empty() => Some(coord_system),
            c => coord_system_cell(&c),
        };
        let Some(system) = system else {
            errors.push(row_error(
                *row,
                Some("coord_system"),
                "坐标系应为 wgs84、gcj02 或 bd09",
            ));
            continue;
        };
        match (&area, responsible, fields) {
            (_, _, Err(e)) => errors.push(row_error(*row, Some(e.field), e.message_zh)),
            (_, Err(e), _) => errors.push(e),
            (None, _, _) => {}
            (Some(a), Ok(responsible), Ok(f)) => {
                if let Some(first) = seen.insert((a.id, f.address.clone()), *row) {
                    errors.push(row_error(
                        *row,
                        Some("address"),
                        format!("与第 {first} 行是同一户"),
                    ));
                    continue;
                }
                let (lat, lng) = minsheng_model::coords::opt_to_wgs84(Some(system), f.lat, f.lng);
                out.push(HouseholdRecord {
                    area_id: a.id,
                    address: f.address,
                    head_name: f.head_name,
                    phone: f.phone,
                    members: f.members,
                    tags: f.tags,
                    lat,
                    lng,
                    responsible_user_id: responsible,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        // Name each column as the file's own header does (it may use another accepted name).
        for e in &mut errors {
            let key = e
                .column
                .as_deref()
                .and_then(|zh| COLUMNS.iter().find(|(_, names)| names[0] == zh))
                .map(|(k, _)| *k);
            if let Some(h) = key
                .and_then(|k| index.get(k))
                .and_then(|i| header.get(*i))
                .map(|h| h.trim())
                .filter(|h| !h.is_empty())
            {
                e.column = Some(h.to_string());
            }
        }
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(id: i64, code: &str, name: &str) -> AreaRow {
        AreaRow {
            id,
            parent_id: None,
            level: "grid".into(),
            code: code.into(),
            name: name.into(),
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
    fn gb18030_csv_from_excel_reads_like_utf8() {
        let text = "地址,网格,户主\n麻黄巷1号,G1,李桂英\n";
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        let a = read_sheet(&gbk).unwrap();
        let b = read_sheet(text.as_bytes()).unwrap();
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.rows[1].1[2], "李桂英");
    }

    #[test]
    fn every_bad_row_is_reported_and_no_household_comes_out() {
        let csv = "地址,网格,户主,电话,人口\n\
                   麻黄巷1号,G1,李桂英,13800001111,3\n\
                   ,G1,王五,,2\n\
                   麻黄巷2号,G9,赵六,,1\n\
                   麻黄巷1号,G1,李桂英,,3\n\
                   麻黄巷3号,麻黄第一网格,孙七,12ab,1\n";
        let sheet = read_sheet(csv.as_bytes()).unwrap();
        let errs = check(
            &sheet,
            &[grid(1, "G1", "麻黄第一网格")],
            &[],
            CoordSystem::Wgs84,
        )
        .unwrap_err();
        let rows: Vec<(i64, Option<String>)> =
            errs.iter().map(|e| (e.row, e.column.clone())).collect();
        assert_eq!(
            rows,
            vec![
                (3, Some("地址".into())),
                (4, Some("网格".into())),
                (5, Some("地址".into())),
                (6, Some("电话".into())),
            ]
        );
    }

    #[test]
    fn a_file_without_the_address_column_says_so_on_row_one() {
        let sheet = read_sheet("网格,户主\nG1,李\n".as_bytes()).unwrap();
        let errs = check(&sheet, &[grid(1, "G1", "x")], &[], CoordSystem::Wgs84).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].row, 1);
        assert!(errs[0].reason.contains("地址"));
    }
}
