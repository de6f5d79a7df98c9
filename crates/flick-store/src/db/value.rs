//! Values across the connection layer: SQLite's five storage classes,
//! what binds to a placeholder, and what a column converts to.

/// A value as SQLite stores it: one of its five storage classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// An owned [`ValueRef`], for rows read without knowing their columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl ValueRef<'_> {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "an integer",
            ValueRef::Real(_) => "a real",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "a blob",
        }
    }
}

/// Something that can be bound to a placeholder.
pub trait Param {
    fn to_value(&self) -> ValueRef<'_>;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn to_value(&self) -> ValueRef<'_> {
                ValueRef::Integer(*self as i64)
            }
        }
    )*};
}
int_param!(i64, i32, i16, u32, u16, u8);

impl Param for u64 {
    fn to_value(&self) -> ValueRef<'_> {
        // Beyond i64 only by a bug; saturate rather than wrap negative.
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl Param for usize {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl Param for bool {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::from(*self))
    }
}

impl Param for f64 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl Param for f32 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Real(f64::from(*self))
    }
}

impl Param for str {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl Param for String {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl Param for std::borrow::Cow<'_, str> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl Param for [u8] {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl Param for Vec<u8> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl Param for Value {
    fn to_value(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

impl<T: Param> Param for Option<T> {
    fn to_value(&self) -> ValueRef<'_> {
        self.as_ref().map_or(ValueRef::Null, Param::to_value)
    }
}

impl<T: Param + ?Sized> Param for &T {
    fn to_value(&self) -> ValueRef<'_> {
        (**self).to_value()
    }
}

/// The parameters of one statement.
pub trait Params {
    fn values(&self) -> Vec<ValueRef<'_>>;
}

impl Params for &[&dyn Param] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(|p| p.to_value()).collect()
    }
}

impl Params for [&dyn Param; 0] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        Vec::new()
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: Param> Params for [T; $n] {
            fn values(&self) -> Vec<ValueRef<'_>> {
                self.iter().map(|p| p.to_value()).collect()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

/// Parameters from an iterator, e.g. the ids of an `IN (?1, ?2, …)`.
pub struct ParamsFromIter<T>(Vec<T>);

impl<T: Param> Params for ParamsFromIter<T> {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.0.iter().map(|p| p.to_value()).collect()
    }
}

pub fn params_from_iter<I: IntoIterator>(items: I) -> ParamsFromIter<I::Item> {
    ParamsFromIter(items.into_iter().collect())
}

/// `params![a, b]`: parameters of different types, in order.
macro_rules! params {
    () => { [] as [&dyn $crate::db::Param; 0] };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::db::Param),+] as &[&dyn $crate::db::Param]
    };
}
pub(crate) use params;

/// A column value converted to a Rust type.
pub trait FromCol: Sized {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str>;
}

impl FromCol for i64 {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Integer(i) => Ok(i),
            _ => Err("i64"),
        }
    }
}

macro_rules! narrow_int_col {
    ($($t:ty),*) => {$(
        impl FromCol for $t {
            fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
                match v {
                    ValueRef::Integer(i) => <$t>::try_from(i).map_err(|_| stringify!($t)),
                    _ => Err(stringify!($t)),
                }
            }
        }
    )*};
}
narrow_int_col!(i32, i16, u32, u16, u8, u64, usize);

impl FromCol for bool {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Integer(i) => Ok(i != 0),
            _ => Err("bool"),
        }
    }
}

impl FromCol for f64 {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Real(r) => Ok(r),
            ValueRef::Integer(i) => Ok(i as f64),
            _ => Err("f64"),
        }
    }
}

impl FromCol for f32 {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        f64::from_col(v).map(|r| r as f32).map_err(|_| "f32")
    }
}

impl FromCol for String {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Text(t) => Ok(t.to_owned()),
            _ => Err("text"),
        }
    }
}

impl FromCol for Vec<u8> {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            _ => Err("a blob"),
        }
    }
}

impl FromCol for Value {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        Ok(match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(t.to_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
    }
}

impl<T: FromCol> FromCol for Option<T> {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_col(v).map(Some),
        }
    }
}

/// A column's position.
pub trait ColIndex {
    fn index(self) -> usize;
}

impl ColIndex for usize {
    fn index(self) -> usize {
        self
    }
}
