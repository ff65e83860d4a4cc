//! Search and paging for every admin list: `?q=` filters (case-insensitively, on the fields
//! each list names), `?page=` picks a page of `PER_PAGE`.

use serde::Deserialize;

pub const PER_PAGE: usize = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub q: String,
    pub page: Option<usize>,
    pub ok: Option<String>,
}

/// One page of a filtered list, with what the pager needs.
pub struct Paged<T> {
    pub items: Vec<T>,
    pub q: String,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    base: String,
}

impl<T> Paged<T> {
    /// Filter `all` by `q` against the texts `fields` gives for each item, then cut the page.
    pub fn new<'a>(
        all: Vec<T>,
        query: &ListQuery,
        base: impl Into<String>,
        fields: impl Fn(&T) -> Vec<&str>,
    ) -> Paged<T>
    where
        T: 'a,
    {
        let q = query.q.trim().to_lowercase();
        let matching: Vec<T> = all
            .into_iter()
            .filter(|item| q.is_empty() || fields(item).iter().any(|f| f.to_lowercase().contains(&q)))
            .collect();
        let total = matching.len();
        let pages = total.div_ceil(PER_PAGE).max(1);
        let page = query.page.unwrap_or(1).clamp(1, pages);
        let items = matching.into_iter().skip((page - 1) * PER_PAGE).take(PER_PAGE).collect();
        Paged { items, q: query.q.trim().to_string(), page, pages, total, base: base.into() }
    }

    fn href(&self, page: usize) -> String {
        let q = serde_html_form::to_string([("q", self.q.as_str())]).unwrap_or_default();
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}{q}&page={page}", self.base)
    }
    pub fn prev(&self) -> Option<String> {
        (self.page > 1).then(|| self.href(self.page - 1))
    }
    pub fn next(&self) -> Option<String> {
        (self.page < self.pages).then(|| self.href(self.page + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_then_pages() {
        let all: Vec<String> = (0..45).map(|i| format!("item {i}")).collect();
        let q = ListQuery { q: "ITEM 1".into(), page: None, ok: None };
        let p = Paged::new(all.clone(), &q, "/x", |s| vec![s.as_str()]);
        assert_eq!(p.total, 11); // 1, 10..=19
        let q = ListQuery { q: String::new(), page: Some(3), ok: None };
        let p = Paged::new(all.clone(), &q, "/x", |s| vec![s.as_str()]);
        assert_eq!((p.page, p.pages, p.items.len()), (3, 3, 5));
        assert!(p.next().is_none());
        assert_eq!(p.prev().as_deref(), Some("/x?q=&page=2"));
        let q = ListQuery { q: String::new(), page: Some(99), ok: None };
        assert_eq!(Paged::new(all, &q, "/x", |s| vec![s.as_str()]).page, 3, "clamped");
    }
}
