namespace WebApi;

/// <summary>appsettings.json's "Model" section, as mlnet-transfer train wrote it for this model.</summary>
public sealed class ModelSettings
{
    /// <summary>The model zip, relative to the app's content root (this folder) unless absolute.</summary>
    public string Path { get; set; } = "../model.zip";

    /// <summary>The side images are decoded for (JPEGs at the smallest DCT scale that covers it). 0, the default: the
    /// side the model was trained at, read from its ResizeImages step, so a reloaded model brings its own.</summary>
    public int ImageSize { get; set; }

    /// <summary>Images with more pixels are refused from their header, before any decoding (Pillow's limit).</summary>
    public long MaxImagePixels { get; set; } = 178_956_970;

    /// <summary>Score one blank image while loading, so the first request does not pay for ONNX Runtime's first run.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>The memory decodes may hold at once: a request whose image needs more than is free waits its turn.
    /// 0: a quarter of the memory the app may use (a container's limit), at most 1 GiB. Whatever this says, an image
    /// that needs more than half that memory to decode is refused.</summary>
    public long MaxDecodeBytes { get; set; }

    /// <summary>An answer whose top score reaches this, for an image the model does not call unfamiliar, is marked sure
    /// ("sure": true), so an app can act on it and route the rest to a person. Scores are calibrated: on images like the validation ones, answers at 0.9 are right about 9
    /// times in 10 or more; what a threshold gets on the app's own images, `mlnet-transfer evaluate --min-score` measures.</summary>
    public double MinScore { get; set; } = 0.9;

    /// <summary>Serve a new model written over Model:Path without a restart (<see cref="ServedModel"/>); requests in
    /// flight finish on the model they started with.</summary>
    public bool WatchForChanges { get; set; } = true;

    /// <summary>How often the model's file is looked at, in seconds; a new file is served once it has stayed the same
    /// for one look (a copy still being written is not loaded half done).</summary>
    public double WatchSeconds { get; set; } = 2;

    /// <summary>Uploads with more bytes are refused (413) before they are read whole.</summary>
    public long MaxUploadBytes { get; set; } = 32 * 1024 * 1024;
}
