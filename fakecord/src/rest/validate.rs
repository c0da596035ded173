//! Message bodies: parsing and Discord's limits.

#[allow(unused_imports)]
use super::*;

// ----- messages -----

/// The message fields of a create/edit body; `None` means "not given".
#[derive(Default)]
pub(crate) struct MsgInput {
    pub(crate) content: Option<String>,
    pub(crate) embeds: Option<Vec<Value>>,
    pub(crate) components: Option<Vec<Value>>,
    pub(crate) flags: Option<u64>,
    pub(crate) attachments: Option<Vec<Value>>,
    pub(crate) reference: Option<u64>,
}

pub(crate) fn parse_msg(v: &Value, prefix: &str) -> R<MsgInput> {
    let f = |name: &str| format!("{prefix}{name}");
    if v.is_null() {
        return Ok(MsgInput::default());
    }
    let o = obj(v, &f("content"))?;
    let list = |key: &str| -> R<Option<Vec<Value>>> {
        match o.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(Vec::new())),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(_) => Err(Reply::form(
                &f(key),
                "LIST_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            )),
        }
    };
    let content = match o.get("content") {
        None => None,
        Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(Reply::form(
                &f("content"),
                "STRING_TYPE_CONVERT",
                "Could not interpret value as string.",
            ))
        }
    };
    let flags =
        match o.get("flags") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                Reply::form(&f("flags"), "NUMBER_TYPE_COERCE", "Value is not int.")
            })?),
        };
    let reference = o
        .get("message_reference")
        .and_then(|r| r.get("message_id"))
        .and_then(json_sf);
    Ok(MsgInput {
        content,
        embeds: list("embeds")?,
        components: list("components")?,
        flags,
        attachments: list("attachments")?,
        reference,
    })
}

pub(crate) fn too_long(field: &str, max: usize) -> Reply {
    Reply::form(
        field,
        "BASE_TYPE_MAX_LENGTH",
        &format!("Must be {max} or fewer in length."),
    )
}

/// Discord's limits on content, embeds and components.
pub(crate) fn validate_msg(
    prefix: &str,
    content: &str,
    embeds: &[Value],
    components: &[Value],
) -> R<()> {
    let f = |name: &str| format!("{prefix}{name}");
    let len = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, |s| s.chars().count());
    if content.chars().count() > 2000 {
        return Err(too_long(&f("content"), 2000));
    }
    if embeds.len() > 10 {
        return Err(too_long(&f("embeds"), 10));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let ef = |k: &str| f(&format!("embeds.{i}.{k}"));
        if !e.is_object() {
            return Err(Reply::form(
                &ef("_"),
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            ));
        }
        for (key, max) in [("title", 256), ("description", 4096)] {
            let n = len(e.get(key));
            if n > max {
                return Err(too_long(&ef(key), max));
            }
            total += n;
        }
        let fields = e.get("fields").and_then(Value::as_array);
        if fields.map_or(0, Vec::len) > 25 {
            return Err(too_long(&ef("fields"), 25));
        }
        for (j, fl) in fields.into_iter().flatten().enumerate() {
            for (key, max) in [("name", 256), ("value", 1024)] {
                let n = len(fl.get(key));
                if n == 0 {
                    return Err(Reply::form(
                        &ef(&format!("fields.{j}.{key}")),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    ));
                }
                if n > max {
                    return Err(too_long(&ef(&format!("fields.{j}.{key}")), max));
                }
                total += n;
            }
        }
        let n = len(e.get("footer").and_then(|x| x.get("text")));
        if n > 2048 {
            return Err(too_long(&ef("footer.text"), 2048));
        }
        total += n;
        let n = len(e.get("author").and_then(|x| x.get("name")));
        if n > 256 {
            return Err(too_long(&ef("author.name"), 256));
        }
        total += n;
    }
    if total > 6000 {
        return Err(Reply::form(
            &f("embeds"),
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    validate_message_components(prefix, components)
}
