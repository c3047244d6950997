//! Writing records: one file's records replace whatever that file had before, and nothing is
//! visible until [`Sink::commit`], which tantivy makes atomic.

use tantivy::schema::TantivyDocument;
use tantivy::{IndexReader, IndexWriter, TantivyError, Term};

use crate::engine::Sink;
use crate::index::{Fields, IndexError};
use crate::record::Record;

/// How long [`Sink::compact`] waits for the merge policy's own merges to end.
const COMPACT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(600);

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

    /// No merges until [`Sink::compact`]: the merge policy would merge the segments of a
    /// rebuild eight at a time, and the final merge then rewrites the documents again. On
    /// 100,000 generated documents that was 20 of 230 CPU-seconds.
    fn rebuilding(&mut self) {
        self.writer
            .set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    }

    /// Merges every segment into one. A bulk ingest leaves several (tantivy's merge policy
    /// waits for eight of a size): each query then looks every term up, opens postings and
    /// counts facets once per segment, and each segment keeps its own dictionaries. On the
    /// 100,000-document benchmark index (7 segments) one segment took the mix's p50 from 1.59
    /// to 1.26 ms and HTTP throughput at 16 connections from 781 to 1,137 requests/s, for a
    /// 16 s merge after a 105 s ingest. The merge is atomic like a commit: a crash during it
    /// leaves the segments as they were.
    fn compact(&mut self) -> Result<(), IndexError> {
        // The merge policy may be merging some of them already: tantivy then refuses a merge
        // of segments that are gone by the time it starts, and we ask again, with the
        // segments there are then.
        let started = std::time::Instant::now();
        loop {
            let segments = self.writer.index().searchable_segment_ids()?;
            if segments.len() <= 1 {
                break;
            }
            match self.writer.merge(&segments).wait() {
                Ok(_) => break,
                Err(TantivyError::InvalidArgument(_)) if started.elapsed() < COMPACT_PATIENCE => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(err) => return Err(err.into()),
            }
        }
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
        for concept in &record.concepts_often {
            doc.add_text(f.concepts, super::schema::often_concept(concept));
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
