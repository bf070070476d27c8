//! Parameters and rows shared by both backends.
//!
//! The schema uses three column types only (integers, text, bytes; flags
//! are 0/1 integers and times unix milliseconds), so a parameter or a cell
//! is one of those three or a typed NULL. PostgreSQL needs the type of a
//! NULL parameter; SQLite does not care.

use crate::error::{Result, StoreError};

/// The type of a NULL parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Int,
    Text,
    Blob,
}

/// One query parameter or result cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    Null(Ty),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}

impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Int(i64::from(v))
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}

impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}

impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Self {
        Val::Blob(v)
    }
}

impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Self {
        Val::Blob(v.to_vec())
    }
}

impl From<&Vec<u8>> for Val {
    fn from(v: &Vec<u8>) -> Self {
        Val::Blob(v.clone())
    }
}

/// A value type with a NULL of its own type.
pub(crate) trait Nullable: Into<Val> {
    const TY: Ty;
}

impl Nullable for i64 {
    const TY: Ty = Ty::Int;
}
impl Nullable for String {
    const TY: Ty = Ty::Text;
}
impl Nullable for &str {
    const TY: Ty = Ty::Text;
}
impl Nullable for &String {
    const TY: Ty = Ty::Text;
}
impl Nullable for Vec<u8> {
    const TY: Ty = Ty::Blob;
}
impl Nullable for &[u8] {
    const TY: Ty = Ty::Blob;
}

impl<T: Nullable> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        match v {
            Some(v) => v.into(),
            None => Val::Null(T::TY),
        }
    }
}

/// Builds a parameter array: `params![a, b, c]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        [$($crate::db::Val::from($value)),*]
    };
}
pub(crate) use params;

/// A result row, read by position (column lists are constants beside the
/// code that decodes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row(pub(crate) Vec<Val>);

impl Row {
    /// Cell `i` as `T`.
    pub(crate) fn get<T: FromVal>(&self, i: usize) -> Result<T> {
        let cell = self.0.get(i).ok_or(StoreError::Decode {
            column: i,
            expected: T::NAME,
        })?;
        T::from_val(cell).ok_or(StoreError::Decode {
            column: i,
            expected: T::NAME,
        })
    }

    /// Cell `i` as a 0/1 flag.
    pub(crate) fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.get::<i64>(i)? != 0)
    }
}

/// A type a cell converts to.
pub(crate) trait FromVal: Sized {
    const NAME: &'static str;
    fn from_val(val: &Val) -> Option<Self>;
}

impl FromVal for i64 {
    const NAME: &'static str = "integer";
    fn from_val(val: &Val) -> Option<Self> {
        match val {
            Val::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromVal for String {
    const NAME: &'static str = "text";
    fn from_val(val: &Val) -> Option<Self> {
        match val {
            Val::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromVal for Vec<u8> {
    const NAME: &'static str = "bytes";
    fn from_val(val: &Val) -> Option<Self> {
        match val {
            Val::Blob(v) => Some(v.clone()),
            // SQLite may hand back text for a column declared BLOB when
            // text was stored; bytes are bytes.
            Val::Text(v) => Some(v.clone().into_bytes()),
            _ => None,
        }
    }
}

impl<T: FromVal> FromVal for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_val(val: &Val) -> Option<Self> {
        match val {
            Val::Null(_) => Some(None),
            other => T::from_val(other).map(Some),
        }
    }
}

/// `$1, $2, …, $n` starting after `offset` parameters.
pub(crate) fn placeholders(offset: usize, n: usize) -> String {
    (offset + 1..=offset + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_nulls_and_decoding() {
        assert_eq!(Val::from(None::<i64>), Val::Null(Ty::Int));
        assert_eq!(Val::from(None::<&str>), Val::Null(Ty::Text));
        assert_eq!(Val::from(Some(3i64)), Val::Int(3));
        let row = Row(vec![
            Val::Int(1),
            Val::Null(Ty::Text),
            Val::Text("x".into()),
        ]);
        assert!(row.flag(0).unwrap());
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert_eq!(row.get::<String>(2).unwrap(), "x");
        assert!(row.get::<i64>(2).is_err());
        assert!(row.get::<i64>(9).is_err());
        assert_eq!(placeholders(2, 3), "$3, $4, $5");
    }
}
