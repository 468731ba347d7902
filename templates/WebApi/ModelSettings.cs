namespace WebApi;

/// <summary>appsettings.json's "Model" section, as mlnet-transfer train wrote it for this model.</summary>
public sealed class ModelSettings
{
    /// <summary>The model zip, relative to the app's content root (this folder) unless absolute.</summary>
    public string Path { get; set; } = "../model.zip";

    /// <summary>The side the network was trained at: JPEGs decode at the smallest DCT scale that covers it.</summary>
    public int ImageSize { get; set; } = 224;

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

    /// <summary>Uploads with more bytes are refused (413) before they are read whole.</summary>
    public long MaxUploadBytes { get; set; } = 32 * 1024 * 1024;
}
