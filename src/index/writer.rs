//! Writing records: one file's records replace whatever that file had before, and nothing is
//! visible until [`Sink::commit`], which tantivy makes atomic.

use tantivy::schema::TantivyDocument;
use tantivy::{IndexReader, IndexWriter, Term};

use crate::engine::Sink;
use crate::index::{Fields, IndexError};
use crate::record::Record;

/// The single writer of an index (it holds the index's lock until dropped).
pub struct LabWriter {
    writer: IndexWriter<TantivyDocument>,
    fields: Fields,
    reader: IndexReader,
}

impl LabWriter {
    pub(crate) fn new(
        writer: IndexWriter<TantivyDocument>,
        fields: Fields,
        reader: IndexReader,
    ) -> LabWriter {
        LabWriter {
            writer,
            fields,
            reader,
        }
    }
}

impl Sink for LabWriter {
    fn replace_file(&mut self, file_id: &str, records: &[Record]) -> Result<(), IndexError> {
        self.delete_file(file_id)?;
        for record in records {
            self.writer.add_document(self.to_document(record))?;
        }
        Ok(())
    }

    fn delete_file(&mut self, file_id: &str) -> Result<(), IndexError> {
        self.writer
            .delete_term(Term::from_field_text(self.fields.file_id, file_id));
        Ok(())
    }

    fn delete_all(&mut self) -> Result<(), IndexError> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), IndexError> {
        self.writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }
}

impl LabWriter {
    fn to_document(&self, record: &Record) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &record.id);
        doc.add_text(f.file_id, &record.file_id);
        doc.add_text(f.content_hash, &record.content_hash);
        doc.add_text(f.source, &record.source);
        doc.add_text(f.title, &record.title);
        doc.add_text(f.body, &record.body);
        doc.add_text(f.title_of(record.lang), &record.title);
        doc.add_text(f.body_of(record.lang), &record.body);
        for text in [&record.title, &record.body] {
            doc.add_text(f.fold_of(record.lang), text);
            doc.add_text(f.spell, text);
        }
        for concept in &record.concepts {
            doc.add_text(f.concepts, concept);
        }
        doc.add_text(f.lang, record.lang.code());
        if let Some(country) = &record.country {
            doc.add_text(f.country, country);
        }
        for method in &record.methods {
            doc.add_text(f.methods, method);
        }
        for (method, evidence) in &record.method_evidence {
            doc.add_text(f.method_evidence, format!("{method}\t{evidence}"));
        }
        for year in &record.years {
            doc.add_u64(f.years, u64::from(*year));
        }
        if let Some(published) = &record.published {
            doc.add_text(f.published, published);
        }
        if let Some(url) = &record.url {
            doc.add_text(f.url, url);
        }
        if let Some(organisation) = &record.organisation {
            doc.add_text(f.organisation, organisation);
        }
        doc
    }
}
