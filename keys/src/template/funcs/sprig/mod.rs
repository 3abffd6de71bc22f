//! sprig v3 generic functions.
use std::collections::HashMap;

use super::FuncDef;
use crate::template::error::FuncError;
use crate::template::gotime::GoTime;
use crate::template::value::Value;

pub(crate) fn register(_t: &mut HashMap<&'static str, FuncDef>) {}

pub(crate) fn time_method(_t: &GoTime, name: &str, _args: Vec<Value>) -> Result<Value, FuncError> {
    Err(FuncError::msg(format!("can't evaluate field {name} in type time.Time")))
}
