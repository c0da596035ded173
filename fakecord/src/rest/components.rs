//! Discord's rules for components: the action rows of a message (buttons, or one select menu)
//! and the text inputs of a modal (interaction callback type 9). A bot that breaks one gets the
//! 400 / 50035 form error Discord answers, with the field's path.

#[allow(unused_imports)]
use super::*;

/// Component types a message's action row may hold: button, the five select menus. A text
/// input (4) belongs in modals only.
const MESSAGE_ROW_TYPES: [u64; 6] = [2, 3, 5, 6, 7, 8];

fn is_select(kind: u64) -> bool {
    matches!(kind, 3 | 5..=8)
}

fn required(field: &str) -> Reply {
    Reply::form(field, "BASE_TYPE_REQUIRED", "This field is required")
}

fn bad_length(field: &str, min: usize, max: usize) -> Reply {
    Reply::form(
        field,
        "BASE_TYPE_BAD_LENGTH",
        &format!("Must be between {min} and {max} in length."),
    )
}

fn number_max(field: &str, max: u64) -> Reply {
    Reply::form(
        field,
        "NUMBER_TYPE_MAX",
        &format!("int value should be less than or equal to {max}."),
    )
}

fn number_min(field: &str, min: u64) -> Reply {
    Reply::form(
        field,
        "NUMBER_TYPE_MIN",
        &format!("int value should be greater than or equal to {min}."),
    )
}

fn type_choices(field: &str, choices: &str) -> Reply {
    Reply::form(
        field,
        "UNION_TYPE_CHOICES",
        &format!("Value of field \"type\" must be one of ({choices})."),
    )
}

/// A select menu or a text input takes the whole width of its row.
fn width_exceeded(field: &str) -> Reply {
    Reply::form(
        field,
        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        "The specified component exceeds the maximum width",
    )
}

fn duplicated_id(field: &str) -> Reply {
    Reply::form(
        field,
        "COMPONENT_CUSTOM_ID_DUPLICATED",
        "Component custom id cannot be duplicated",
    )
}

/// A button's or an option's emoji: a custom one names its snowflake id, any other must be
/// one Unicode emoji (Discord refuses `"name": "black_nib"`).
fn check_emoji(o: &Value, at: &str) -> R<()> {
    let Some(e) = o.get("emoji").filter(|e| !e.is_null()) else {
        return Ok(());
    };
    let id = e.get("id").filter(|i| !i.is_null());
    let valid = match id {
        Some(id) => id
            .as_str()
            .is_some_and(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_digit())),
        None => e
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| emojis::get(n).is_some()),
    };
    if valid {
        Ok(())
    } else {
        Err(Reply::form(
            &format!("{at}emoji.name"),
            "BUTTON_COMPONENT_INVALID_EMOJI",
            "Invalid emoji",
        ))
    }
}

/// A required string of `min..=max` characters.
fn req_str<'v>(o: &'v Value, key: &str, field: &str, min: usize, max: usize) -> R<&'v str> {
    match o.get(key) {
        None | Some(Value::Null) => Err(required(field)),
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if n < min || n > max {
                Err(bad_length(field, min, max))
            } else {
                Ok(s)
            }
        }
        Some(_) => Err(Reply::form(
            field,
            "STRING_TYPE_CONVERT",
            "Could not interpret value as string.",
        )),
    }
}

/// An optional string of at most `max` characters.
fn opt_str<'v>(o: &'v Value, key: &str, field: &str, max: usize) -> R<Option<&'v str>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => Err(too_long(field, max)),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Reply::form(
            field,
            "STRING_TYPE_CONVERT",
            "Could not interpret value as string.",
        )),
    }
}

/// An optional integer in `min..=max`.
fn opt_int(o: &Value, key: &str, field: &str, min: u64, max: u64) -> R<Option<u64>> {
    let v = match o.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    if v.as_i64().is_some_and(|n| n < 0) {
        return Err(number_min(field, min));
    }
    let n = v.as_u64().ok_or_else(|| {
        Reply::form(
            field,
            "NUMBER_TYPE_COERCE",
            &format!("Value \"{v}\" is not int."),
        )
    })?;
    if n < min {
        return Err(number_min(field, min));
    }
    if n > max {
        return Err(number_max(field, max));
    }
    Ok(Some(n))
}

/// A required list of `min..=max` items.
fn req_list<'v>(o: &'v Value, key: &str, field: &str, min: usize, max: usize) -> R<&'v [Value]> {
    match o.get(key) {
        None | Some(Value::Null) => Err(required(field)),
        Some(Value::Array(a)) if a.len() < min || a.len() > max => Err(bad_length(field, min, max)),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(Reply::form(
            field,
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        )),
    }
}

/// The `components` of a message: up to 5 action rows of up to 5 buttons or exactly one select.
pub(crate) fn validate_message_components(prefix: &str, components: &[Value]) -> R<()> {
    let f = |name: &str| format!("{prefix}{name}");
    let len = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, |s| s.chars().count());
    if components.len() > 5 {
        return Err(too_long(&f("components"), 5));
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, row) in components.iter().enumerate() {
        let rf = |k: &str| f(&format!("components.{i}.{k}"));
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            return Err(type_choices(&rf("type"), "1,"));
        }
        let inner = row
            .get("components")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if inner.is_empty() || inner.len() > 5 {
            return Err(bad_length(&rf("components"), 1, 5));
        }
        let kinds: Vec<u64> = inner
            .iter()
            .map(|c| c.get("type").and_then(Value::as_u64).unwrap_or(0))
            .collect();
        if let Some(j) = kinds.iter().position(|k| !MESSAGE_ROW_TYPES.contains(k)) {
            return Err(type_choices(
                &rf(&format!("components.{j}.type")),
                "2, 3, 5, 6, 7, 8",
            ));
        }
        if inner.len() > 1 && kinds.iter().any(|k| is_select(*k)) {
            return Err(width_exceeded(&rf("components.1")));
        }
        for (j, c) in inner.iter().enumerate() {
            let cf = |k: &str| rf(&format!("components.{j}.{k}"));
            let ctype = kinds[j];
            let style = c.get("style").and_then(Value::as_u64).unwrap_or(0);
            if len(c.get("label")) > 80 {
                return Err(too_long(&cf("label"), 80));
            }
            let is_link = ctype == 2 && (style == 5 || style == 6);
            match c.get("custom_id").and_then(Value::as_str) {
                Some(id) if !is_link => {
                    if id.is_empty() || id.chars().count() > 100 {
                        return Err(bad_length(&cf("custom_id"), 1, 100));
                    }
                    if seen.iter().any(|s| s == id) {
                        return Err(duplicated_id(&cf("custom_id")));
                    }
                    seen.push(id.to_owned());
                }
                None if !is_link => {
                    return Err(Reply::form(
                        &cf("custom_id"),
                        "BASE_TYPE_REQUIRED",
                        "A custom id is required",
                    ))
                }
                _ => {}
            }
            check_emoji(c, &cf(""))?;
            if is_select(ctype) {
                validate_select(c, ctype, &cf(""))?;
            }
        }
    }
    Ok(())
}

/// A select menu; `at` is its path with a trailing dot.
fn validate_select(c: &Value, kind: u64, at: &str) -> R<()> {
    let f = |k: &str| format!("{at}{k}");
    opt_str(c, "placeholder", &f("placeholder"), 150)?;
    let min = opt_int(c, "min_values", &f("min_values"), 0, 25)?.unwrap_or(1);
    let max = opt_int(c, "max_values", &f("max_values"), 1, 25)?.unwrap_or(1);
    if min > max {
        return Err(number_max(&f("min_values"), max));
    }
    if kind != 3 {
        // User, role, mentionable and channel selects list no options.
        return Ok(());
    }
    let options = req_list(c, "options", &f("options"), 1, 25)?;
    let mut values: Vec<&str> = Vec::new();
    for (k, o) in options.iter().enumerate() {
        let of = |key: &str| f(&format!("options.{k}.{key}"));
        if !o.is_object() {
            return Err(Reply::form(
                &f(&format!("options.{k}")),
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            ));
        }
        req_str(o, "label", &of("label"), 1, 100)?;
        let value = req_str(o, "value", &of("value"), 1, 100)?;
        opt_str(o, "description", &of("description"), 100)?;
        check_emoji(o, &of(""))?;
        if values.contains(&value) {
            return Err(Reply::form(
                &of("value"),
                "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                "Select component option values must be unique",
            ));
        }
        values.push(value);
    }
    if max as usize > options.len() {
        // More picks allowed than there are options.
        return Err(Reply::form(
            &f("options"),
            "BASE_TYPE_MIN_LENGTH",
            &format!("Must be {max} or more in length."),
        ));
    }
    Ok(())
}

/// The `data` of an interaction callback type 9: a title, a custom id and 1–5 action rows of
/// exactly one text input each.
pub(crate) fn validate_modal(data: &Value) -> R<()> {
    if data.is_null() {
        return Err(required("data"));
    }
    obj(data, "data")?;
    req_str(data, "custom_id", "data.custom_id", 1, 100)?;
    req_str(data, "title", "data.title", 1, 45)?;
    let rows = req_list(data, "components", "data.components", 1, 5)?;
    let mut seen: Vec<&str> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let rf = |k: &str| format!("data.components.{i}.{k}");
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            return Err(type_choices(&rf("type"), "1,"));
        }
        let inner = req_list(row, "components", &rf("components"), 1, 5)?;
        for (j, c) in inner.iter().enumerate() {
            if c.get("type").and_then(Value::as_u64) != Some(4) {
                return Err(type_choices(&rf(&format!("components.{j}.type")), "4,"));
            }
        }
        if inner.len() > 1 {
            return Err(width_exceeded(&rf("components.1")));
        }
        let input = &inner[0];
        let at = rf("components.0.");
        let id = req_str(input, "custom_id", &format!("{at}custom_id"), 1, 100)?;
        if seen.contains(&id) {
            return Err(duplicated_id(&format!("{at}custom_id")));
        }
        seen.push(id);
        validate_text_input(input, &at)?;
    }
    Ok(())
}

/// A text input of a modal (its custom id already checked); `at` ends with a dot.
fn validate_text_input(c: &Value, at: &str) -> R<()> {
    let f = |k: &str| format!("{at}{k}");
    req_str(c, "label", &f("label"), 1, 45)?;
    match c.get("style") {
        None | Some(Value::Null) => return Err(required(&f("style"))),
        Some(v) if matches!(v.as_u64(), Some(1 | 2)) => {}
        Some(_) => {
            return Err(Reply::form(
                &f("style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2}.",
            ))
        }
    }
    let min = opt_int(c, "min_length", &f("min_length"), 0, 4000)?;
    let max = opt_int(c, "max_length", &f("max_length"), 1, 4000)?;
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Err(number_max(&f("min_length"), max));
        }
    }
    if let Some(value) = opt_str(c, "value", &f("value"), 4000)? {
        let cap = max.unwrap_or(4000) as usize;
        if value.chars().count() > cap {
            return Err(too_long(&f("value"), cap));
        }
    }
    opt_str(c, "placeholder", &f("placeholder"), 100)?;
    match c.get("required") {
        None | Some(Value::Null | Value::Bool(_)) => Ok(()),
        Some(_) => Err(Reply::form(
            &f("required"),
            "BASE_TYPE_BOOLEAN",
            "Must be either true or false.",
        )),
    }
}
