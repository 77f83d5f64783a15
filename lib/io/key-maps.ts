/**
 * State-dict key names of other distributions mapped to the official segment-anything names
 * (sam-architecture.md §7: Hugging Face `SamModel`).
 */

/** True when the keys look like a Hugging Face SamModel state dict. */
export function isHuggingFaceSam(keys: Iterable<string>): boolean {
  for (const k of keys) if (k.startsWith('vision_encoder.') || k.startsWith('shared_image_embedding.')) return true;
  return false;
}

// Ordered substitutions, Hugging Face -> official (the inverse of convert_sam_to_hf.py's list).
const HF_TO_OFFICIAL: Array<[RegExp, string]> = [
  [/^vision_encoder\.layers\.(\d+)\.layer_norm([12])\./, 'image_encoder.blocks.$1.norm$2.'],
  [/^vision_encoder\.layers\./, 'image_encoder.blocks.'],
  [/^vision_encoder\.patch_embed\.projection\./, 'image_encoder.patch_embed.proj.'],
  [/^vision_encoder\.neck\.conv1\./, 'image_encoder.neck.0.'],
  [/^vision_encoder\.neck\.layer_norm1\./, 'image_encoder.neck.1.'],
  [/^vision_encoder\.neck\.conv2\./, 'image_encoder.neck.2.'],
  [/^vision_encoder\.neck\.layer_norm2\./, 'image_encoder.neck.3.'],
  [/^vision_encoder\./, 'image_encoder.'],
  [/^prompt_encoder\.shared_embedding\.positional_embedding$/, 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'],
  [/^shared_image_embedding\.positional_embedding$/, 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'],
  [/^prompt_encoder\.point_embed\./, 'prompt_encoder.point_embeddings.'],
  [/^prompt_encoder\.mask_embed\.conv1\./, 'prompt_encoder.mask_downscaling.0.'],
  [/^prompt_encoder\.mask_embed\.layer_norm1\./, 'prompt_encoder.mask_downscaling.1.'],
  [/^prompt_encoder\.mask_embed\.conv2\./, 'prompt_encoder.mask_downscaling.3.'],
  [/^prompt_encoder\.mask_embed\.layer_norm2\./, 'prompt_encoder.mask_downscaling.4.'],
  [/^prompt_encoder\.mask_embed\.conv3\./, 'prompt_encoder.mask_downscaling.6.'],
  [/^mask_decoder\.transformer\.layers\.(\d+)\.layer_norm(\d)\./, 'mask_decoder.transformer.layers.$1.norm$2.'],
  [/^mask_decoder\.transformer\.layer_norm_final_attn\./, 'mask_decoder.transformer.norm_final_attn.'],
  [/^mask_decoder\.upscale_conv1\./, 'mask_decoder.output_upscaling.0.'],
  [/^mask_decoder\.upscale_layer_norm\./, 'mask_decoder.output_upscaling.1.'],
  [/^mask_decoder\.upscale_conv2\./, 'mask_decoder.output_upscaling.3.'],
  // MLP heads: proj_in / layers.0 / proj_out are the official layers.0 / layers.1 / layers.2.
  [/^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.0\./, '$1.layers.1.'],
  [/^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.proj_in\./, '$1.layers.0.'],
  [/^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.proj_out\./, '$1.layers.2.'],
];

/** The official name of a Hugging Face SamModel key (unchanged when no rule applies). */
export function officialNameFromHuggingFace(key: string): string {
  for (const [pattern, replacement] of HF_TO_OFFICIAL) {
    if (pattern.test(key)) return key.replace(pattern, replacement);
  }
  return key;
}

/** Keys every distribution may carry that are not model state (dropped silently). */
export function isIgnorableKey(key: string): boolean {
  return key === 'pixel_mean' || key === 'pixel_std' || key.endsWith('.num_batches_tracked');
}
