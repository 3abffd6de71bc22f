//! ESO v2 functions.
use std::collections::HashMap;

use super::FuncDef;

pub(crate) fn register(_t: &mut HashMap<&'static str, FuncDef>) {}
